// The SIMT emulator's execution model: a kernel launch runs its blocks one after another in the
// calling thread, each CUDA thread of a block as a fiber. A fiber runs until it reaches a
// barrier (__syncthreads) or a warp-synchronous op (__shfl_*_sync, __ballot_sync, __syncwarp),
// where it waits for the rest of its block or warp; a block or warp that can never gather
// there (threads at different barriers, lanes that exited before a shuffle) is reported as a
// kernel fault naming the kernel, block and threads, and the process aborts, as a device fault
// would end it. Between barriers a block's threads run one at a time, in ascending and then
// descending order on alternate passes, so a missing barrier shows in either direction. Blocks
// do not run concurrently, so the emulator checks a kernel's arithmetic, indexing and
// synchronization structure, not its races between blocks or its speed.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace tenbin::cuda_emu {

inline constexpr int kWarpSize = 32;

// The calling CUDA thread's coordinates (only inside a kernel).
const uint3& thread_index();
const uint3& block_index();
const dim3& block_dim();
const dim3& grid_dim();

// __syncthreads: waits until every thread of the block that has not exited arrives.
void sync_block();
// The warp-synchronous exchange every __shfl/__ballot/__syncwarp is built on: each lane of the
// calling warp offers `value`; once all 32 lanes have arrived, `all[i]` holds lane i's value.
// `mask` must name every lane of the warp (the only masks the backend uses).
void warp_exchange(unsigned mask, uint64_t value, uint64_t (&all)[kWarpSize]);
// Lane of the calling thread in its warp.
int lane_id();

// Runs `body` as every thread of a grid; returns cudaErrorInvalidConfiguration (and runs
// nothing) for a launch configuration CUDA rejects. `name` identifies the kernel in reports.
cudaError_t run_grid(const char* name, dim3 grid, dim3 block, size_t shared_bytes,
                     const std::function<void()>& body);

// cudaGraphLaunch calls so far (runtime.cc counts them; reported at exit with
// TENBIN_CUDA_EMU_STATS).
std::atomic<int64_t>& graph_launches();

// The name of the kernel the calling thread is running, or "host code" outside kernels.
const char* running_kernel();

// Records `error` as the result cudaGetLastError returns next (a launch's error).
void set_last_error(cudaError_t error);
// The recorded error, reset to cudaSuccess when `clear` (cudaGetLastError, cudaPeekAtLastError).
cudaError_t take_last_error(bool clear);

// While `stream` is capturing (cudaStreamBeginCapture), records `work` for the graph and returns
// true; otherwise returns false and the caller runs it now.
bool record_if_capturing(cudaStream_t stream, const std::function<void()>& work);

// Aborts with a kernel fault report unless `p` is null or points into (or just past) a device
// allocation: a host pointer handed to a kernel, which the device could not read.
void check_kernel_pointer(const char* kernel, size_t argument, const void* p);

// kernel<<<grid, block, shared, stream>>>(args...): the parameters are converted as a call
// would convert them and copied once, each thread receiving them by value. Pointer parameters
// must point to device memory.
template <class... Params, class... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared,
            cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel launched with the wrong arity");
  std::tuple<std::decay_t<Params>...> params(static_cast<Params>(std::forward<Args>(args))...);
  std::apply(
      [name](const auto&... p) {
        size_t index = 0;
        const auto check = [&](const auto& value) {
          if constexpr (std::is_pointer_v<std::decay_t<decltype(value)>>) {
            check_kernel_pointer(name, index, value);
          }
          ++index;
        };
        (check(p), ...);
      },
      params);
  const auto run = [=] {
    auto copy = params;
    const cudaError_t err = run_grid(name, grid, block, shared, [&] { std::apply(kernel, copy); });
    if (err != cudaSuccess) set_last_error(err);
  };
  if (!record_if_capturing(stream, run)) run();
}

}  // namespace tenbin::cuda_emu
