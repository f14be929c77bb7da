// RMS norm of rows: one block per row. The squares are formed in f32 and summed in double, the
// mean rounded to f32 and the scale computed with IEEE sqrt and division, as the reference does
// (kernels/ref/ops.cc rms_norm_scale); only the order of the double sum differs, so results
// match the reference bit for bit except in rare double-rounding ties.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    rms_norm_kernel(const float* x, const float* weight, float* y, int64_t n, float eps) {
  __shared__ double partial[kThreads / kWarp];
  __shared__ float scale_shared;
  const float* xr = x + blockIdx.x * n;
  float* yr = y + blockIdx.x * n;
  double sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const float v = xr[i];
    sum += static_cast<double>(__fmul_rn(v, v));
  }
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    sum += __shfl_xor_sync(kFullMask, sum, offset);
  }
  if (threadIdx.x % kWarp == 0) partial[threadIdx.x / kWarp] = sum;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0;
    for (int w = 0; w < kThreads / kWarp; ++w) total += partial[w];
    const auto mean = static_cast<float>(total / static_cast<double>(n));
    scale_shared = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(mean, eps)));
  }
  __syncthreads();
  const float scale = scale_shared;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    yr[i] = __fmul_rn(__fmul_rn(xr[i], scale), weight[i]);
  }
}

}  // namespace

void launch_rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n,
                     float eps, cudaStream_t stream) {
  if (n_rows <= 0 || n <= 0) return;
  TENBIN_CUDA_REQUIRE(n_rows <= 0x7FFFFFFF, "rms_norm: too many rows for one launch");
  launch_kernel<rms_norm_kernel>(static_cast<unsigned>(n_rows), kThreads, 0, stream, x, weight, y,
                                 n, eps);
  TENBIN_CUDA_CHECK_LAUNCH("rms_norm kernel", stream);
}

}  // namespace tenbin::cuda
