// Activations converted to the weight type's dot partner before a matmul (kernels/ops.h): Q8_0
// per 32 elements for Q4_0/Q5_0/Q8_0 weights, Q8_1 (Q8_0 plus the block sum) for Q4_1/Q5_1,
// Q8_K per 256 for the K formats, f16/bf16 for those weights
// and for the prefill GEMM. Same rounding as the reference quantizers (kernels/ref/quantize.cc),
// so the integers and scales are bit-identical to the CPU's. Output layout (ours, not GGUF's):
// all q of a row contiguous (int8, 4-byte aligned words for __dp4a), scales as f32 alongside.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"
#include "tensor/blocks.h"

namespace tenbin::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

// One warp per 32-block, lane j quantizes element j. kWithSum (Q8_1): d holds two floats per
// block, the f16-rounded d and s = f16(d * sum of q) with d unrounded, as the reference's
// quantize_act_q8_1 rounds them.
template <bool kWithSum>
__global__ void quantize_q8_kernel(const float* x, int64_t n_blocks, int8_t* q, float* d) {
  const int64_t blk = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + threadIdx.x / kWarp;
  if (blk >= n_blocks) return;  // whole warps leave together
  const int lane = threadIdx.x % kWarp;
  float amax;
  const int qv = quantize_q8_lane(x[blk * kQK + lane], amax);
  q[blk * kQK + lane] = static_cast<int8_t>(qv);
  const float scale = amax / 127.0f;
  if constexpr (kWithSum) {
    int sum = qv;
#pragma unroll
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      sum += __shfl_xor_sync(kFullMask, sum, offset);
    }
    if (lane == 0) {
      d[2 * blk] = __half2float(__float2half_rn(scale));
      d[2 * blk + 1] = __half2float(__float2half_rn(__fmul_rn(scale, static_cast<float>(sum))));
    }
  } else {
    if (lane == 0) d[blk] = __half2float(__float2half_rn(scale));
  }
}

// One warp per 256-block, lane l quantizes elements 8l..8l+7. The scale comes from the first
// element of largest magnitude (ties to the lowest index, as the reference's strict > scan).
__global__ void quantize_q8_k_kernel(const float* x, int64_t n_blocks, int8_t* q, float* d) {
  constexpr int kPerLane = kQKK / kWarp;
  const int64_t blk = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + threadIdx.x / kWarp;
  if (blk >= n_blocks) return;
  const int lane = threadIdx.x % kWarp;
  const float* xb = x + blk * kQKK + lane * kPerLane;
  float v[kPerLane];
  float amax = 0.0f, max = 0.0f;
  int index = kQKK;  // none yet
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    v[j] = xb[j];
    if (fabsf(v[j]) > amax) {
      amax = fabsf(v[j]);
      max = v[j];
      index = lane * kPerLane + j;
    }
  }
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float o_amax = __shfl_xor_sync(kFullMask, amax, offset);
    const float o_max = __shfl_xor_sync(kFullMask, max, offset);
    const int o_index = __shfl_xor_sync(kFullMask, index, offset);
    if (o_amax > amax || (o_amax == amax && o_index < index)) {
      amax = o_amax;
      max = o_max;
      index = o_index;
    }
  }
  int8_t* qb = q + blk * kQKK + lane * kPerLane;
  if (amax == 0.0f) {
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) qb[j] = 0;
    if (lane == 0) d[blk] = 0.0f;
    return;
  }
  const float iscale = -127.0f / max;
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    qb[j] = static_cast<int8_t>(min(127, __float2int_rn(__fmul_rn(iscale, v[j]))));
  }
  if (lane == 0) d[blk] = 1.0f / iscale;
}

template <class T>
__global__ void convert_kernel(const float* x, int64_t n, T* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<T, __half>) {
      out[i] = __float2half_rn(x[i]);
    } else {
      out[i] = __float2bfloat16_rn(x[i]);
    }
  }
}

}  // namespace

namespace {

template <bool kWithSum>
void launch_quantize_q8(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d,
                        cudaStream_t stream) {
  const int64_t n_blocks = n_rows * (cols / kQK);
  if (n_blocks <= 0) return;
  launch_kernel<quantize_q8_kernel<kWithSum>>(blocks_for(n_blocks, kWarpsPerBlock),
                                              kWarpsPerBlock * kWarp, 0, stream, x, n_blocks, q, d);
  TENBIN_CUDA_CHECK_LAUNCH(kWithSum ? "quantize_q8_1 kernel" : "quantize_q8_0 kernel", stream);
}

}  // namespace

void launch_quantize_q8_0(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d,
                          cudaStream_t stream) {
  launch_quantize_q8<false>(x, n_rows, cols, q, d, stream);
}

void launch_quantize_q8_1(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d,
                          cudaStream_t stream) {
  launch_quantize_q8<true>(x, n_rows, cols, q, d, stream);
}

void launch_quantize_q8_k(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d,
                          cudaStream_t stream) {
  const int64_t n_blocks = n_rows * (cols / kQKK);
  if (n_blocks <= 0) return;
  launch_kernel<quantize_q8_k_kernel>(blocks_for(n_blocks, kWarpsPerBlock), kWarpsPerBlock * kWarp,
                                      0, stream, x, n_blocks, q, d);
  TENBIN_CUDA_CHECK_LAUNCH("quantize_q8_k kernel", stream);
}

void launch_convert(const float* x, int64_t n, DType type, void* out, cudaStream_t stream) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  const unsigned grid =
      static_cast<unsigned>(std::min<int64_t>(1 << 16, (n + kThreads - 1) / kThreads));
  if (type == DType::kF16) {
    launch_kernel<convert_kernel<__half>>(grid, kThreads, 0, stream, x, n,
                                          static_cast<__half*>(out));
  } else if (type == DType::kBF16) {
    launch_kernel<convert_kernel<__nv_bfloat16>>(grid, kThreads, 0, stream, x, n,
                                                 static_cast<__nv_bfloat16*>(out));
  } else {
    fatal_error("launch_convert: target must be f16 or bf16", __FILE__, __LINE__);
  }
  TENBIN_CUDA_CHECK_LAUNCH("convert kernel", stream);
}

}  // namespace tenbin::cuda
