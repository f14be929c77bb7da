// Fatal error reporting of the CUDA backend (see check.h).
#include "cuda/check.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tenbin::cuda {
namespace {

// The file's name without its directories: messages should not carry the build machine's paths.
const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

}  // namespace

void fatal_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
  std::fprintf(stderr, "tenbin cuda: %s failed: %s (%s) (%s:%d)\n", what, cudaGetErrorString(err),
               cudaGetErrorName(err), base_name(file), line);
  std::fflush(stderr);
  std::abort();
}

void fatal_error(const char* message, const char* file, int line) {
  std::fprintf(stderr, "tenbin cuda: %s (%s:%d)\n", message, base_name(file), line);
  std::fflush(stderr);
  std::abort();
}

void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) fatal_cuda_error(err, kernel, file, line);
#ifdef TENBIN_CUDA_SYNC_CHECK
  err = cudaStreamSynchronize(stream);
  if (err != cudaSuccess) fatal_cuda_error(err, kernel, file, line);
#else
  (void)stream;
#endif
}

}  // namespace tenbin::cuda
