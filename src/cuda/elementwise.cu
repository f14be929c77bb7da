// The elementwise ops of the CUDA backend: bias add, column copy, SiLU-gated product, add, and
// the gather of the rows whose logits are wanted. Grid-stride loops over flat indices; each
// element's arithmetic is the reference's (kernels/ref/ops.cc), except that CUDA's expf (within
// 2 ulp) replaces the C library's in silu_mul.
#include <algorithm>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

constexpr int kThreads = 256;

unsigned grid_for(int64_t n) {
  return static_cast<unsigned>(std::min<int64_t>(1 << 16, (n + kThreads - 1) / kThreads));
}

__device__ __forceinline__ int64_t first_index() {
  return blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

__global__ void add_bias_kernel(float* rows, const float* bias, int64_t n_rows, int64_t n) {
  for (int64_t i = first_index(); i < n_rows * n; i += grid_stride()) rows[i] += bias[i % n];
}

__global__ void copy_columns_kernel(const float* src, int64_t src_stride, float* dst,
                                    int64_t dst_stride, int64_t n_rows, int64_t n_cols) {
  for (int64_t i = first_index(); i < n_rows * n_cols; i += grid_stride()) {
    const int64_t r = i / n_cols, c = i % n_cols;
    dst[r * dst_stride + c] = src[r * src_stride + c];
  }
}

__global__ void silu_mul_kernel(const float* gate, const float* up, int64_t in_stride, float* out,
                                int64_t n_rows, int64_t n) {
  for (int64_t i = first_index(); i < n_rows * n; i += grid_stride()) {
    const int64_t r = i / n, c = i % n;
    const float g = gate[r * in_stride + c];
    out[i] = __fmul_rn(__fdiv_rn(g, __fadd_rn(1.0f, expf(-g))), up[r * in_stride + c]);
  }
}

__global__ void add_kernel(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] + b[i];
}

__global__ void gather_rows_kernel(const float* src, int64_t n, const int32_t* rows, int64_t n_out,
                                   float* dst) {
  for (int64_t i = first_index(); i < n_out * n; i += grid_stride()) {
    const int64_t r = i / n, c = i % n;
    dst[i] = src[static_cast<int64_t>(rows[r]) * n + c];
  }
}

}  // namespace

cudaError_t probe_kernel_image() {
  cudaFuncAttributes attributes{};
  const cudaError_t err = cudaFuncGetAttributes(&attributes, add_kernel);
  (void)cudaGetLastError();
  return err;
}

void launch_add_bias(float* rows, const float* bias, int64_t n_rows, int64_t n,
                     cudaStream_t stream) {
  if (n_rows <= 0 || n <= 0) return;
  launch_kernel<add_bias_kernel>(grid_for(n_rows * n), kThreads, 0, stream, rows, bias, n_rows, n);
  TENBIN_CUDA_CHECK_LAUNCH("add_bias kernel", stream);
}

void launch_copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                         int64_t n_rows, int64_t n_cols, cudaStream_t stream) {
  if (n_rows <= 0 || n_cols <= 0) return;
  launch_kernel<copy_columns_kernel>(grid_for(n_rows * n_cols), kThreads, 0, stream, src,
                                     src_stride, dst, dst_stride, n_rows, n_cols);
  TENBIN_CUDA_CHECK_LAUNCH("copy_columns kernel", stream);
}

void launch_silu_mul(const float* gate, const float* up, int64_t in_stride, float* out,
                     int64_t n_rows, int64_t n, cudaStream_t stream) {
  if (n_rows <= 0 || n <= 0) return;
  launch_kernel<silu_mul_kernel>(grid_for(n_rows * n), kThreads, 0, stream, gate, up, in_stride,
                                 out, n_rows, n);
  TENBIN_CUDA_CHECK_LAUNCH("silu_mul kernel", stream);
}

void launch_add(const float* a, const float* b, float* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  launch_kernel<add_kernel>(grid_for(n), kThreads, 0, stream, a, b, out, n);
  TENBIN_CUDA_CHECK_LAUNCH("add kernel", stream);
}

void launch_gather_rows(const float* src, int64_t n, const int32_t* rows, int64_t n_out, float* dst,
                        cudaStream_t stream) {
  if (n <= 0 || n_out <= 0) return;
  launch_kernel<gather_rows_kernel>(grid_for(n_out * n), kThreads, 0, stream, src, n, rows, n_out,
                                    dst);
  TENBIN_CUDA_CHECK_LAUNCH("gather_rows kernel", stream);
}

}  // namespace tenbin::cuda
