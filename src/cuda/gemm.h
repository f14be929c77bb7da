// The prefill matmul: cuBLAS GEMMs on tensor cores for batches above the decode kernels'
// kMatvecMaxTokens. F16 and BF16 weights are multiplied as stored with the activations rounded
// to the same type (the CPU recipe's conversion), block-quantized weights are first expanded to
// f16 (dequantize.cu) a slice of rows at a time, F32 weights run in full f32 (no TF32). All
// accumulate in f32 (CUBLAS_COMPUTE_32F).
// Not batch invariant against the decode kernels: the same token's result differs slightly
// (different summation, and unquantized activations for block formats) depending on whether
// its batch takes this path or matvec; within this path cuBLAS may also pick different
// algorithms for different batch sizes.
#pragma once

#include <cublas_v2.h>

#include <cstdint>

namespace tenbin::cuda {

// y[t][r0 + r] = sum_c W[r][c] * x[t][c] for r < m, t < n: W is [m, k] row-major of `w_type`
// (f16, bf16 or f32), x is [n, k] row-major of `x_type`, y rows are ldy floats apart.
void gemm_rows(cublasHandle_t handle, const void* w, cudaDataType w_type, int64_t m, int64_t k,
               const void* x, cudaDataType x_type, int64_t n, float* y, int64_t ldy);

// Prints the failed call and cuBLAS's message, then aborts.
[[noreturn]] void fatal_cublas_error(cublasStatus_t status, const char* what, const char* file,
                                     int line);

}  // namespace tenbin::cuda

#define TENBIN_CUBLAS_CHECK(expr)                                                           \
  do {                                                                                      \
    const cublasStatus_t tenbin_cublas_status_ = (expr);                                    \
    if (tenbin_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                     \
      ::tenbin::cuda::fatal_cublas_error(tenbin_cublas_status_, #expr, __FILE__, __LINE__); \
  } while (0)
