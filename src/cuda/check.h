// Error checks of the CUDA backend. Ops return void (backend/backend.h), so a failed CUDA call
// inside an op prints what failed and aborts; calls that can fail for a user-visible reason
// (allocation, device setup) are checked in the .cc files and returned as Status instead.
// Included by both .cc and .cu files: no fmt, no backend.h.
#pragma once

#include <cuda_runtime_api.h>

namespace tenbin::cuda {

// Prints "tenbin cuda: <what> failed: <error string> (<file>:<line>)" to stderr and aborts.
[[noreturn]] void fatal_cuda_error(cudaError_t err, const char* what, const char* file, int line);
// Prints "tenbin cuda: <message> (<file>:<line>)" to stderr and aborts.
[[noreturn]] void fatal_error(const char* message, const char* file, int line);

inline void check_cuda(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess) fatal_cuda_error(err, what, file, line);
}

// After a kernel launch: reports a bad launch configuration at once and, when built with
// TENBIN_CUDA_SYNC_CHECK, waits for the kernel so that a fault names the kernel that caused it.
void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line);

}  // namespace tenbin::cuda

#define TENBIN_CUDA_CHECK(expr) ::tenbin::cuda::check_cuda((expr), #expr, __FILE__, __LINE__)
#define TENBIN_CUDA_CHECK_LAUNCH(kernel, stream) \
  ::tenbin::cuda::check_launch((kernel), (stream), __FILE__, __LINE__)
#define TENBIN_CUDA_REQUIRE(cond, message)                                   \
  do {                                                                       \
    if (!(cond)) ::tenbin::cuda::fatal_error((message), __FILE__, __LINE__); \
  } while (0)
