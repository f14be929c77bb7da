// Decode matmul of Q4_1, Q5_1 and Q5_K weights in the CPU recipe's own summation order
// (kernels/ref/dots.cc dot_offset and dot_q5_k_lanes, llama.cpp's x86 order): eight f32
// accumulators per row, accumulator k taking fma(lane sum k of each block, d_w * d_a, acc) block
// after block, the offset (Q4_1, Q5_1: m * s_a) or min (Q5_K: (-d_a * dmin) * msum) terms summed
// in f32 on the side, then ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)) + offsets. Lane sum
// k of a 32-element block is the exact integer dot of its elements 4k..4k+3; of a Q5_K
// super-block, the sum over its eight groups g of scale[g] times the dot of elements
// 32g + 4k..+3. The shared random-weight models of these formats flip greedy tokens under any
// other order, so these three do not use matvec_quant.cu's warp-per-row tree.
//
// Launch: eight lanes per row (lane k keeps accumulator k for every token), four rows per warp,
// sixteen rows per block of 128 threads; each lane walks the row's blocks in order. Weights are
// read and decoded once for all n_tokens (<= 8) tokens, each token's arithmetic independent of
// the others (batch invariance).
#include <cstdint>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"
#include "cuda/quant_slices.cuh"
#include "tensor/blocks.h"

namespace tenbin::cuda {
namespace {

constexpr int kLanesPerRow = 8;
constexpr int kThreads = 128;
constexpr int kRowsPerBlock = kThreads / kLanesPerRow;

// Each format: load() decodes lane k's part of a weight block once (Lane), which then serves
// every token: lane_sum (lane k's exact integer dot), scale (d_w * d_a) and side (the block's
// offset or min term).

// Q4_1 / Q5_1: d, m, [qh], qs; x = d * q + m; the Q8_1 activation block's scales are (d_a, s_a).
template <bool kFive>
struct OffsetLanes {
  static constexpr int kBlockElems = kQK;
  static constexpr int kBlockBytes = kFive ? sizeof(BlockQ5_1) : sizeof(BlockQ4_1);
  static constexpr int kActScales = 2;
  static constexpr int kQsAt = kFive ? 8 : 4;
  struct Lane {
    float d, m;
    int q;  // elements 4k..4k+3
  };
  // Elements 4k..4k+3: low nibbles of qs bytes 4k.. for k < 4, high nibbles of 4(k - 4).. after.
  __device__ __forceinline__ static Lane load(const uint8_t* b, int k) {
    Lane w;
    w.d = f16_bits_to_f32(load_u16(b));
    w.m = f16_bits_to_f32(load_u16(b + 2));
    w.q = (load_i32(b + kQsAt + 4 * (k % 4)) >> (4 * (k / 4))) & kLow4;
    if constexpr (kFive) w.q |= spread_bits4((load_i32(b + 4) >> (4 * k)) & 0xF) << 4;
    return w;
  }
  __device__ __forceinline__ static int lane_sum(const Lane& w, int k, const int8_t* a) {
    return dp4a(w.q, load_i32(a + 4 * k), 0);
  }
  __device__ __forceinline__ static float scale(const Lane& w, const float* ad) {
    return __fmul_rn(w.d, ad[0]);
  }
  // The block's side term; `a` and k serve Q5_K's min sums (unused here).
  __device__ __forceinline__ static float side(const Lane& w, const float* ad, const int8_t*, int) {
    return __fmul_rn(w.m, ad[1]);
  }
};

// Q5_K against Q8_K.
struct Q5KLanes {
  static constexpr int kBlockElems = kQKK;
  static constexpr int kBlockBytes = sizeof(BlockQ5_K);
  static constexpr int kActScales = 1;
  static constexpr int kQhAt = 4 + kKScaleBytes;
  static constexpr int kQsAt = kQhAt + kQKK / 8;
  struct Lane {
    float d, dmin;
    int q[8];  // elements 32g + 4k..+3 of each group g
    int sc[8], mn[8];
  };
  __device__ __forceinline__ static Lane load(const uint8_t* b, int k) {
    Lane w;
    w.d = f16_bits_to_f32(load_u16(b));
    w.dmin = f16_bits_to_f32(load_u16(b + 2));
    const int qh = load_i32(b + kQhAt + 4 * k);
#pragma unroll
    for (int g = 0; g < 8; ++g) {
      k4_scale_min_at(b + 4, g, w.sc[g], w.mn[g]);
      w.q[g] = ((load_i32(b + kQsAt + 32 * (g / 2) + 4 * k) >> (4 * (g % 2))) & kLow4) |
               (((qh >> g) & 0x01010101) << 4);
    }
    return w;
  }
  __device__ __forceinline__ static int lane_sum(const Lane& w, int k, const int8_t* a) {
    int sum = 0;
#pragma unroll
    for (int g = 0; g < 8; ++g) sum += w.sc[g] * dp4a(w.q[g], load_i32(a + 32 * g + 4 * k), 0);
    return sum;
  }
  __device__ __forceinline__ static float scale(const Lane& w, const float* ad) {
    return __fmul_rn(ad[0], w.d);
  }
  // (-d_a * dmin) * sum_g min[g] * (sum of group g's activations): this lane's part of the
  // integer sum (elements 4k..4k+3 of each group), completed across the row's eight lanes.
  __device__ __forceinline__ static float side(const Lane& w, const float* ad, const int8_t* a,
                                               int k) {
    int msum = 0;
#pragma unroll
    for (int g = 0; g < 8; ++g) msum += w.mn[g] * byte_sum(load_i32(a + 32 * g + 4 * k));
    msum += __shfl_xor_sync(kFullMask, msum, 1);
    msum += __shfl_xor_sync(kFullMask, msum, 2);
    msum += __shfl_xor_sync(kFullMask, msum, 4);
    const float dmin = -__fmul_rn(ad[0], w.dmin);
    return __fmul_rn(dmin, static_cast<float>(msum));
  }
};

template <class F, int kTok>
__global__ void __launch_bounds__(kThreads)
    matvec_lanes_kernel(const uint8_t* __restrict__ w, int64_t rows, int64_t row_bytes,
                        int64_t n_blocks, const int8_t* __restrict__ aq,
                        const float* __restrict__ ad, int64_t cols, int n_tok,
                        float* __restrict__ y) {
  const int k = threadIdx.x % kLanesPerRow;
  const int64_t row = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.x / kLanesPerRow;
  // Rows past the end compute row 0's sums unused: every lane must reach the shuffles.
  const uint8_t* wrow = w + (row < rows ? row : 0) * row_bytes;
  float acc[kTok], side[kTok];
#pragma unroll
  for (int t = 0; t < kTok; ++t) acc[t] = side[t] = 0.0f;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const typename F::Lane lane = F::load(wrow + b * F::kBlockBytes, k);
#pragma unroll
    for (int t = 0; t < kTok; ++t) {
      if (t >= n_tok) break;  // uniform
      const int8_t* a = aq + t * cols + b * F::kBlockElems;
      const float* as = ad + (t * n_blocks + b) * F::kActScales;
      acc[t] = fmaf(static_cast<float>(F::lane_sum(lane, k, a)), F::scale(lane, as), acc[t]);
      side[t] += F::side(lane, as, a, k);
    }
  }
#pragma unroll
  for (int t = 0; t < kTok; ++t) {
    if (t >= n_tok) break;
    float v = acc[t];
    v += __shfl_xor_sync(kFullMask, v, 4);  // a_k + a_(k+4)
    v += __shfl_xor_sync(kFullMask, v, 2);  // (a0 + a4) + (a2 + a6), (a1 + a5) + (a3 + a7)
    v += __shfl_xor_sync(kFullMask, v, 1);
    if (k == 0 && row < rows) y[t * rows + row] = v + side[t];
  }
}

template <class F>
void launch_for_format(const void* w, int64_t rows, int64_t cols, const int8_t* q, const float* d,
                       int64_t n_tokens, float* y, cudaStream_t stream) {
  TENBIN_CUDA_REQUIRE(cols % F::kBlockElems == 0,
                      "matvec: the row length is not a multiple of the weight block size");
  const auto* wb = static_cast<const uint8_t*>(w);
  TENBIN_CUDA_REQUIRE(reinterpret_cast<uintptr_t>(wb) % 4 == 0,
                      "matvec: weight data is not aligned for its block format");
  const int64_t n_blocks = cols / F::kBlockElems;
  const int64_t row_bytes = n_blocks * F::kBlockBytes;
  const unsigned grid = blocks_for(rows, kRowsPerBlock);
  const int n = static_cast<int>(n_tokens);
  with_token_slots(n_tokens, [&]<int kTok>() {
    launch_kernel<matvec_lanes_kernel<F, kTok>>(grid, kThreads, 0, stream, wb, rows, row_bytes,
                                                n_blocks, q, d, cols, n, y);
  });
  TENBIN_CUDA_CHECK_LAUNCH("matvec_lanes kernel", stream);
}

}  // namespace

bool matvec_in_lane_order(DType type) {
  return type == DType::kQ4_1 || type == DType::kQ5_1 || type == DType::kQ5_K;
}

void launch_matvec_lanes(DType type, const void* w, int64_t rows, int64_t cols, const int8_t* q,
                         const float* d, int64_t n_tokens, float* y, cudaStream_t stream) {
  if (rows <= 0 || n_tokens <= 0) return;
  TENBIN_CUDA_REQUIRE(n_tokens <= kMatvecMaxTokens, "matvec: more tokens than the kernel takes");
  switch (type) {
    case DType::kQ4_1:
      return launch_for_format<OffsetLanes<false>>(w, rows, cols, q, d, n_tokens, y, stream);
    case DType::kQ5_1:
      return launch_for_format<OffsetLanes<true>>(w, rows, cols, q, d, n_tokens, y, stream);
    case DType::kQ5_K:
      return launch_for_format<Q5KLanes>(w, rows, cols, q, d, n_tokens, y, stream);
    default:
      fatal_error("matvec_lanes: not Q4_1, Q5_1 or Q5_K", __FILE__, __LINE__);
  }
}

}  // namespace tenbin::cuda
