// launch_kernel<kernel>(grid, block, shared, stream, args...): the one place the CUDA backend's
// kernels are launched. With nvcc it is `kernel<<<grid, block, shared, stream>>>(args...)`;
// compiled as plain C++ for the SIMT emulator (tests/cuda_emu), which has no <<<>>> syntax, it
// runs the kernel there, under the kernel's name for fault reports. Launch errors surface
// through cudaGetLastError either way (TENBIN_CUDA_CHECK_LAUNCH).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

namespace tenbin::cuda {

template <auto kKernel, class... Args>
void launch_kernel(dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
                   Args&&... args) {
#ifdef TENBIN_CUDA_EMULATION
  ::tenbin::cuda_emu::launch(__PRETTY_FUNCTION__, kKernel, grid, block, shared_bytes, stream,
                             std::forward<Args>(args)...);
#else
  // clang-format off
  kKernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
  // clang-format on
#endif
}

}  // namespace tenbin::cuda
