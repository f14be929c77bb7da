// Decode matmul of block-quantized weights (every GGUF format: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q2_K..Q6_K) against activations already quantized by act_convert.cu, following the CPU recipe of
// kernels/ops.h: each block's dot is an exact integer sum (__dp4a), scaled in f32 as the reference
// does ((d_w * d_a) * isum, and for Q4_K minus (dmin * d_a) * msum); the block terms are then
// summed in f32 in an order of our own (per lane, then a fixed warp tree), which is the only
// difference from the reference.
//
// Launch: one warp per weight row, 4 rows (128 threads) per block. The lanes split a row's
// blocks into slices (kLanes lanes per block, kBlocksPerStep blocks per warp step); each step's
// integer partials are combined exactly with shuffles across the block's lanes before scaling.
// Weights are read once per call for all n_tokens (<= 8) tokens; every token's arithmetic is the
// same whatever n_tokens is, so results are batch invariant. GGUF blocks of 18, 34 and 210 bytes
// are only 2-byte aligned, hence 16-bit loads for those formats; kUnroll steps of loads are
// issued before their math for memory-level parallelism.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"
#include "cuda/quant_slices.cuh"

namespace tenbin::cuda {
namespace {

constexpr int kRowsPerBlock = 4;
constexpr int kUnroll = 4;
template <DType T, int kTok>
__global__ void __launch_bounds__(kRowsPerBlock* kWarp)
    matvec_quant_kernel(const uint8_t* __restrict__ w, int64_t rows, int64_t row_bytes,
                        int64_t n_blocks, const int8_t* __restrict__ aq,
                        const float* __restrict__ ad, int64_t cols, int n_tok,
                        float* __restrict__ y) {
  using F = QuantFormat<T>;
  constexpr int kBlocksPerStep = kWarp / F::kLanes;
  const int64_t row = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.x / kWarp;
  if (row >= rows) return;  // whole warps leave together
  const int lane = threadIdx.x % kWarp;
  const int sub = lane / F::kLanes;  // which block of the step
  const int slice = lane % F::kLanes;
  const uint8_t* wrow = w + row * row_bytes;

  float acc[kTok];
#pragma unroll
  for (int t = 0; t < kTok; ++t) acc[t] = 0.0f;

  for (int64_t b0 = 0; b0 < n_blocks; b0 += kBlocksPerStep * kUnroll) {
    typename F::Slice ws[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = b0 + u * kBlocksPerStep + sub;
      if (b < n_blocks) F::load(wrow + b * F::kBlockBytes, slice, ws[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t b = b0 + u * kBlocksPerStep + sub;
      const bool valid = b < n_blocks;
      if (b0 + u * kBlocksPerStep >= n_blocks) break;  // uniform: no block of this step is left
#pragma unroll
      for (int t = 0; t < kTok; ++t) {
        if (t >= n_tok) break;  // uniform
        int isum = 0, msum = 0;
        if (valid) F::dot(ws[u], aq + t * cols + b * F::kBlockElems, slice, isum, msum);
#pragma unroll
        for (int offset = F::kLanes / 2; offset > 0; offset /= 2) {
          isum += __shfl_xor_sync(kFullMask, isum, offset);
          if constexpr (F::kHasMin) msum += __shfl_xor_sync(kFullMask, msum, offset);
        }
        if (valid && slice == 0) {
          acc[t] += F::term(ws[u], ad + (t * n_blocks + b) * F::kActScales, isum, msum);
        }
      }
    }
  }
#pragma unroll
  for (int t = 0; t < kTok; ++t) {
    if (t >= n_tok) break;
    const float sum = warp_sum(acc[t]);
    if (lane == 0) y[t * rows + row] = sum;
  }
}

template <DType T>
void launch_for_type(const void* w, int64_t rows, int64_t cols, const int8_t* q, const float* d,
                     int64_t n_tokens, float* y, cudaStream_t stream) {
  using F = QuantFormat<T>;
  TENBIN_CUDA_REQUIRE(cols % F::kBlockElems == 0,
                      "matvec: the row length is not a multiple of the weight block size");
  const uint8_t* wb = static_cast<const uint8_t*>(w);
  TENBIN_CUDA_REQUIRE(reinterpret_cast<uintptr_t>(wb) % F::kAlign == 0,
                      "matvec: weight data is not aligned for its block format");
  const int64_t n_blocks = cols / F::kBlockElems;
  const int64_t row_bytes = n_blocks * F::kBlockBytes;
  const unsigned grid = blocks_for(rows, kRowsPerBlock);
  const int n = static_cast<int>(n_tokens);
  constexpr unsigned kThreads = kRowsPerBlock * kWarp;
  with_token_slots(n_tokens, [&]<int kTok>() {
    launch_kernel<matvec_quant_kernel<T, kTok>>(grid, kThreads, 0, stream, wb, rows, row_bytes,
                                                n_blocks, q, d, cols, n, y);
  });
  TENBIN_CUDA_CHECK_LAUNCH("matvec_quant kernel", stream);
}

}  // namespace

ActFormat activation_format(DType type) {
  switch (type) {
    case DType::kQ4_1:
    case DType::kQ5_1:
      return ActFormat::kQ8_1;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return ActFormat::kQ8_K;
    default:
      return ActFormat::kQ8_0;
  }
}

void launch_matvec_quant(DType type, const void* w, int64_t rows, int64_t cols, const int8_t* q,
                         const float* d, int64_t n_tokens, float* y, cudaStream_t stream) {
  if (rows <= 0 || n_tokens <= 0) return;
  if (matvec_in_lane_order(type)) {
    return launch_matvec_lanes(type, w, rows, cols, q, d, n_tokens, y, stream);
  }
  TENBIN_CUDA_REQUIRE(n_tokens <= kMatvecMaxTokens, "matvec: more tokens than the kernel takes");
  switch (type) {
    case DType::kQ4_0:
      return launch_for_type<DType::kQ4_0>(w, rows, cols, q, d, n_tokens, y, stream);
    case DType::kQ8_0:
      return launch_for_type<DType::kQ8_0>(w, rows, cols, q, d, n_tokens, y, stream);
    case DType::kQ4_K:
      return launch_for_type<DType::kQ4_K>(w, rows, cols, q, d, n_tokens, y, stream);
    case DType::kQ6_K:
      return launch_for_type<DType::kQ6_K>(w, rows, cols, q, d, n_tokens, y, stream);
    case DType::kQ5_0:
      return launch_for_type<DType::kQ5_0>(w, rows, cols, q, d, n_tokens, y, stream);
    case DType::kQ2_K:
      return launch_for_type<DType::kQ2_K>(w, rows, cols, q, d, n_tokens, y, stream);
    case DType::kQ3_K:
      return launch_for_type<DType::kQ3_K>(w, rows, cols, q, d, n_tokens, y, stream);
    default:
      fatal_error("matvec_quant: not a block-quantized weight type", __FILE__, __LINE__);
  }
}

}  // namespace tenbin::cuda
