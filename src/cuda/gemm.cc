// cuBLAS GEMM of the prefill matmul (see gemm.h).
#include "cuda/gemm.h"

#include <cstdio>
#include <limits>
#include <string>

#include "cuda/check.h"

namespace tenbin::cuda {

void fatal_cublas_error(cublasStatus_t status, const char* what, const char* file, int line) {
  const std::string message = std::string(what) + " failed: " + cublasGetStatusString(status);
  fatal_error(message.c_str(), file, line);
}

void gemm_rows(cublasHandle_t handle, const void* w, cudaDataType w_type, int64_t m, int64_t k,
               const void* x, cudaDataType x_type, int64_t n, float* y, int64_t ldy) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  TENBIN_CUDA_REQUIRE(m <= kMax && n <= kMax && k <= kMax && ldy <= kMax,
                      "gemm: a dimension exceeds cuBLAS's 32-bit sizes");
  // Column-major view: W is a [k, m] matrix (ld k), x a [k, n] matrix (ld k), y an [m, n]
  // matrix (ld ldy); y = W^T x.
  const float alpha = 1.0f, beta = 0.0f;
  TENBIN_CUBLAS_CHECK(cublasGemmEx(
      handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(m), static_cast<int>(n),
      static_cast<int>(k), &alpha, w, w_type, static_cast<int>(k), x, x_type, static_cast<int>(k),
      &beta, y, CUDA_R_32F, static_cast<int>(ldy), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace tenbin::cuda
