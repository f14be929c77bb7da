// Decode matmul of F32 / F16 / BF16 weights against activations of the same type (f16 and bf16
// converted by act_convert.cu, as the CPU recipe converts them): the products of two 16-bit
// floats are exact in f32, so the only difference from the reference (which sums in double) is
// the f32 summation, per lane and then a fixed warp tree.
//
// Launch: one warp per row, 4 rows (128 threads) per block; lanes take 16-byte chunks of the
// row in turn (kUnroll chunks in flight per lane), or single elements when the rows are not
// 16-byte aligned. Weights are read once for all n_tokens (<= 8) tokens; a token's arithmetic is
// the same whatever n_tokens is (batch invariance).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

constexpr int kRowsPerBlock = 4;
constexpr int kUnroll = 4;

__device__ __forceinline__ float to_f32(float v) {
  return v;
}
__device__ __forceinline__ float to_f32(__half v) {
  return __half2float(v);
}
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

// 16 bytes of W as floats.
template <class W>
struct Chunk {
  static constexpr int kElems = 16 / sizeof(W);
  float v[kElems];
  __device__ __forceinline__ void load(const W* p) {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    W e[kElems];  // copied, not aliased: reading a uint4 through a W* is undefined in C++
    memcpy(e, &raw, sizeof raw);
#pragma unroll
    for (int i = 0; i < kElems; ++i) v[i] = to_f32(e[i]);
  }
};

template <class W, int kTok, bool kVec>
__global__ void __launch_bounds__(kRowsPerBlock* kWarp)
    matvec_float_kernel(const W* __restrict__ w, int64_t rows, int64_t cols,
                        const W* __restrict__ x, int n_tok, float* __restrict__ y) {
  const int64_t row = blockIdx.x * static_cast<int64_t>(kRowsPerBlock) + threadIdx.x / kWarp;
  if (row >= rows) return;  // whole warps leave together
  const int lane = threadIdx.x % kWarp;
  const W* wrow = w + row * cols;
  float acc[kTok];
#pragma unroll
  for (int t = 0; t < kTok; ++t) acc[t] = 0.0f;

  if constexpr (kVec) {
    constexpr int kElems = Chunk<W>::kElems;
    const int64_t n_chunks = cols / kElems;
    for (int64_t c0 = lane; c0 < n_chunks; c0 += kWarp * kUnroll) {
      Chunk<W> wc[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int64_t c = c0 + u * kWarp;
        if (c < n_chunks) wc[u].load(wrow + c * kElems);
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int64_t c = c0 + u * kWarp;
        if (c >= n_chunks) break;
#pragma unroll
        for (int t = 0; t < kTok; ++t) {
          if (t >= n_tok) break;
          Chunk<W> xc;
          xc.load(x + t * cols + c * kElems);
#pragma unroll
          for (int i = 0; i < kElems; ++i) acc[t] = fmaf(wc[u].v[i], xc.v[i], acc[t]);
        }
      }
    }
  } else {
    for (int64_t i = lane; i < cols; i += kWarp) {
      const float wv = to_f32(wrow[i]);
#pragma unroll
      for (int t = 0; t < kTok; ++t) {
        if (t >= n_tok) break;
        acc[t] = fmaf(wv, to_f32(x[t * cols + i]), acc[t]);
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

template <class W, bool kVec>
void launch_typed(const W* w, int64_t rows, int64_t cols, const W* x, int64_t n_tokens, float* y,
                  cudaStream_t stream) {
  const unsigned grid = blocks_for(rows, kRowsPerBlock);
  constexpr unsigned kThreads = kRowsPerBlock * kWarp;
  const int n = static_cast<int>(n_tokens);
  with_token_slots(n_tokens, [&]<int kTok>() {
    launch_kernel<matvec_float_kernel<W, kTok, kVec>>(grid, kThreads, 0, stream, w, rows, cols, x,
                                                      n, y);
  });
  TENBIN_CUDA_CHECK_LAUNCH("matvec_float kernel", stream);
}

template <class W>
void launch_for_type(const void* w, int64_t rows, int64_t cols, const void* x, int64_t n_tokens,
                     float* y, cudaStream_t stream) {
  const auto* wt = static_cast<const W*>(w);
  const auto* xt = static_cast<const W*>(x);
  const bool vec = cols % Chunk<W>::kElems == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(x) % 16 == 0;
  if (vec) {
    launch_typed<W, true>(wt, rows, cols, xt, n_tokens, y, stream);
  } else {
    launch_typed<W, false>(wt, rows, cols, xt, n_tokens, y, stream);
  }
}

}  // namespace

void launch_matvec_float(DType type, const void* w, int64_t rows, int64_t cols, const void* x,
                         int64_t n_tokens, float* y, cudaStream_t stream) {
  if (rows <= 0 || n_tokens <= 0) return;
  TENBIN_CUDA_REQUIRE(n_tokens <= kMatvecMaxTokens, "matvec: more tokens than the kernel takes");
  switch (type) {
    case DType::kF32:
      return launch_for_type<float>(w, rows, cols, x, n_tokens, y, stream);
    case DType::kF16:
      return launch_for_type<__half>(w, rows, cols, x, n_tokens, y, stream);
    case DType::kBF16:
      return launch_for_type<__nv_bfloat16>(w, rows, cols, x, n_tokens, y, stream);
    default:
      fatal_error("matvec_float: not a float weight type", __FILE__, __LINE__);
  }
}

}  // namespace tenbin::cuda
