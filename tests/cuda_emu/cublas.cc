// cuBLAS of the SIMT emulator (include/cublas_v2.h): cublasGemmEx as cuBLAS defines it,
// C = alpha * op(A) * op(B) + beta * C on column-major matrices, with its argument checks, so
// that a caller's transposes, sizes and leading dimensions are verified. Products are summed in
// double and rounded to f32 (cuBLAS sums in f32 in an order of its own; callers' tolerances
// cover that).
#include <cublas_v2.h>

#include <algorithm>
#include <vector>

#include "tensor/half.h"

struct cublasContext {
  cudaStream_t stream = nullptr;
};

namespace {

int element_bytes(cudaDataType type) {
  switch (type) {
    case CUDA_R_16F:
    case CUDA_R_16BF:
      return 2;
    case CUDA_R_32F:
      return 4;
    case CUDA_R_64F:
      return 8;
  }
  return 0;
}

double element(const void* base, cudaDataType type, long index) {
  switch (type) {
    case CUDA_R_16F:
      return tenbin::fp16_to_f32(static_cast<const uint16_t*>(base)[index]);
    case CUDA_R_16BF:
      return tenbin::bf16_to_f32(static_cast<const uint16_t*>(base)[index]);
    case CUDA_R_32F:
      return static_cast<const float*>(base)[index];
    case CUDA_R_64F:
      return static_cast<const double*>(base)[index];
  }
  return 0;
}

// Element (i, j) of op(X), X column-major with leading dimension ld.
double op_element(const void* x, cudaDataType type, int ld, cublasOperation_t op, int i, int j) {
  return op == CUBLAS_OP_N ? element(x, type, i + static_cast<long>(j) * ld)
                           : element(x, type, j + static_cast<long>(i) * ld);
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasContext{};
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t /*mode*/) {
  return handle == nullptr ? CUBLAS_STATUS_NOT_INITIALIZED : CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "the GPU program failed to execute";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "the functionality requested is not supported";
  }
  return "unknown error";
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void* alpha,
                            const void* a, cudaDataType a_type, int lda, const void* b,
                            cudaDataType b_type, int ldb, const void* beta, void* c,
                            cudaDataType c_type, int ldc, cublasComputeType_t compute_type,
                            cublasGemmAlgo_t /*algo*/) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (m < 0 || n < 0 || k < 0 || transa == CUBLAS_OP_C || transb == CUBLAS_OP_C) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  const int rows_a = transa == CUBLAS_OP_N ? m : k;
  const int rows_b = transb == CUBLAS_OP_N ? k : n;
  if (lda < std::max(1, rows_a) || ldb < std::max(1, rows_b) || ldc < std::max(1, m)) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  // The combinations the backend uses with CUBLAS_COMPUTE_32F: A and B of one 16- or 32-bit
  // float type, C in f32 (cuBLAS's table of supported GemmEx types lists these).
  if (compute_type != CUBLAS_COMPUTE_32F || a_type != b_type || c_type != CUDA_R_32F ||
      element_bytes(a_type) == 0 || a_type == CUDA_R_64F) {
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (alpha == nullptr || beta == nullptr || c == nullptr ||
      (k > 0 && (a == nullptr || b == nullptr))) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  const float alpha_f = *static_cast<const float*>(alpha);
  const float beta_f = *static_cast<const float*>(beta);
  auto* cf = static_cast<float*>(c);
  std::vector<double> column(static_cast<size_t>(m));
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < m; ++i) {
      double sum = 0;
      for (int p = 0; p < k; ++p) {
        sum += op_element(a, a_type, lda, transa, i, p) * op_element(b, b_type, ldb, transb, p, j);
      }
      column[static_cast<size_t>(i)] = sum;
    }
    for (int i = 0; i < m; ++i) {
      float& out = cf[i + static_cast<long>(j) * ldc];
      const float prior = beta_f == 0.0f ? 0.0f : beta_f * out;  // beta 0: C is not read
      out = static_cast<float>(alpha_f * column[static_cast<size_t>(i)]) + prior;
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}
