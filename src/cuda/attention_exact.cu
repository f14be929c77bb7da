// Causal paged attention over BF16 and Q8_0 KV caches (rows layout) in the operation order of
// their scalar references (kernels/ref/attention_bf16.cc, attention_q8.cc), which the CPU's
// SIMD kernels also follow:
//  - BF16: q rounded to bf16 (magnitudes below FLT_MIN flushed to zero), each score a chain of
//    pair steps over the head dimensions (acc = fma(q_odd, k_odd, acc), then the even pair),
//    times scale; softmax; probabilities rounded to bf16; each output element a chain of pair
//    steps over the positions (p, p + 1).
//  - Q8_0: q quantized per 32 as a Q8_0 activation, each score fma(isum_g, d_k * d_q, score)
//    over the groups g in order, times scale; softmax, probabilities unrounded; each output
//    element fma(p * d_v, q_v, acc) over the positions in order.
// One block per tile of queries that read the same K/V rows (attention_params.cuh: up to 8
// tokens of a prefill chunk, or the query heads of a kv head in a decode step): the threads
// score positions (one position's chains each, a K row loaded once for the tile), the block
// takes each query's softmax (f32 sums in a fixed tree, where the reference sums in double),
// then each thread runs the chains of its output elements for every query (a V element loaded
// once for the tile). Every query's operations are those it runs alone, so tiles change no
// bit. Scores sit in scratch, one context per (token, head).
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "cuda/attention_params.cuh"
#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"
#include "tensor/blocks.h"

namespace tenbin::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / kWarp;
constexpr int kMaxHeadDim = 256;

using Params = AttentionParams;

__device__ __forceinline__ float bf16_ftz(float v) {
  return fabsf(v) < 1.17549435e-38f ? 0.0f : __bfloat162float(__float2bfloat16_rn(v));
}
__device__ __forceinline__ float pair_step(float acc, float a_even, float a_odd, float b_even,
                                           float b_odd) {
  acc = fmaf(a_odd, b_odd, acc);
  return fmaf(a_even, b_even, acc);
}

__device__ __forceinline__ float bf16_at(const uint8_t* base, int64_t element) {
  return bf16_bits_to_f32(load_u16(base + 2 * element));
}
// Q8_0 rows: element e sits in block e / 32 (34 bytes: f16 d, 32 int8).
__device__ __forceinline__ const uint8_t* q8_block(const uint8_t* base, int64_t element) {
  return base + element / kQK * static_cast<int64_t>(sizeof(BlockQ8_0));
}

__device__ __forceinline__ float block_reduce(float v, float* shared, bool is_max) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float o = __shfl_xor_sync(kFullMask, v, offset);
    v = is_max ? fmaxf(v, o) : v + o;
  }
  __syncthreads();
  if (threadIdx.x % kWarp == 0) shared[threadIdx.x / kWarp] = v;
  __syncthreads();
  float r = shared[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) r = is_max ? fmaxf(r, shared[w]) : r + shared[w];
  return r;
}

// One block per tile of queries (attention_params.cuh; kTile 1: one query); the tile's other
// blocks return at once. Query tt of the tile sees ctx(tt) positions; every query's chains and
// reductions are those it runs alone, and each K and V element is loaded once for the tile.
template <DType T, int kTile, bool kHeads>
__global__ void __launch_bounds__(kThreads) attention_exact_kernel(Params p) {
  __shared__ float qf[kTile][kMaxHeadDim];          // BF16: q rounded to bf16
  __shared__ int qq_words[kTile][kMaxHeadDim / 4];  // Q8_0: q's quants, four to a word
  __shared__ float qd[kTile][kMaxHeadDim / kQK];    // Q8_0: their scales
  __shared__ float reduce[kWarps];

  const int64_t local_token = blockIdx.x;
  const int head = blockIdx.y;
  const int n_tile = tile_queries<kTile, kHeads>(p, local_token, head);
  if (n_tile == 0) return;  // the whole block
  const int64_t t = p.token_begin + local_token;
  const int64_t n_ctx = static_cast<int64_t>(p.positions[t]) + 1;  // the tile's first query's
  const auto ctx = [&](int tt) { return n_ctx + (kHeads ? 0 : tt); };
  const int64_t longest = ctx(n_tile - 1);
  const int hd = p.head_dim;
  const int32_t* table = p.block_tables + static_cast<int64_t>(p.seq_ids[t]) * p.table_width;
  const int64_t kv_offset = static_cast<int64_t>(head / p.group) * hd;
  const float* q0 = p.q + (t * p.n_heads + head) * hd;
  const int64_t q_step = query_step<kHeads>(p);
  float* scores0 = p.scratch + (local_token * p.n_heads + head) * p.scores_stride;
  const int64_t scores_step = kHeads ? p.scores_stride : p.n_heads * p.scores_stride;
  const auto* kb = static_cast<const uint8_t*>(p.k);
  const auto* vb = static_cast<const uint8_t*>(p.v);

  for (int tt = 0; tt < n_tile; ++tt) {
    const float* qh = q0 + tt * q_step;
    if constexpr (T == DType::kBF16) {
      for (int d = threadIdx.x; d < hd; d += kThreads) qf[tt][d] = bf16_ftz(qh[d]);
    } else {
      // The Q8_0 activation recipe per 32 (act_convert.cu): one warp per group.
      const int lane = threadIdx.x % kWarp;
      auto* qq = reinterpret_cast<int8_t*>(qq_words[tt]);
      for (int g = threadIdx.x / kWarp; g < hd / kQK; g += kWarps) {
        float amax;
        qq[g * kQK + lane] = static_cast<int8_t>(quantize_q8_lane(qh[g * kQK + lane], amax));
        if (lane == 0) qd[tt][g] = __half2float(__float2half_rn(amax / 127.0f));
      }
    }
  }
  __syncthreads();

  float local_max[kTile];
#pragma unroll
  for (int tt = 0; tt < kTile; ++tt) local_max[tt] = -INFINITY;
  for (int64_t pos = threadIdx.x; pos < longest; pos += kThreads) {
    const int64_t e = context_row(p, table, pos, kv_offset);
    float acc[kTile];
#pragma unroll
    for (int tt = 0; tt < kTile; ++tt) acc[tt] = 0.0f;
    if constexpr (T == DType::kBF16) {
      for (int d = 0; d < hd; d += 2) {
        const float k_even = bf16_at(kb, e + d), k_odd = bf16_at(kb, e + d + 1);
#pragma unroll
        for (int tt = 0; tt < kTile; ++tt) {
          if (tt < n_tile) acc[tt] = pair_step(acc[tt], qf[tt][d], qf[tt][d + 1], k_even, k_odd);
        }
      }
    } else {
      for (int g = 0; g < hd / kQK; ++g) {
        const uint8_t* blk = q8_block(kb, e + g * kQK);
        int k_words[kQK / 4];
#pragma unroll
        for (int i = 0; i < kQK / 4; ++i) k_words[i] = load_i32_a2(blk + 2 + 4 * i);
        const float d_k = f16_bits_to_f32(load_u16(blk));
#pragma unroll
        for (int tt = 0; tt < kTile; ++tt) {
          if (tt >= n_tile) continue;
          const int* q_words = qq_words[tt] + g * (kQK / 4);
          int isum = 0;
#pragma unroll
          for (int i = 0; i < kQK / 4; ++i) isum = dp4a(k_words[i], q_words[i], isum);
          acc[tt] = fmaf(static_cast<float>(isum), __fmul_rn(d_k, qd[tt][g]), acc[tt]);
        }
      }
    }
#pragma unroll
    for (int tt = 0; tt < kTile; ++tt) {
      if (tt < n_tile && pos < ctx(tt)) {
        const float score = __fmul_rn(acc[tt], p.scale);
        scores0[tt * scores_step + pos] = score;
        local_max[tt] = fmaxf(local_max[tt], score);
      }
    }
  }
#pragma unroll
  for (int tt = 0; tt < kTile; ++tt) {
    if (tt >= n_tile) break;  // uniform: n_tile is the block's
    float* scores = scores0 + tt * scores_step;
    const float max = block_reduce(local_max[tt], reduce, true);
    float local_sum = 0.0f;
    for (int64_t pos = threadIdx.x; pos < ctx(tt); pos += kThreads) {
      scores[pos] = expf(scores[pos] - max);
      local_sum += scores[pos];
    }
    const float inv = __fdiv_rn(1.0f, block_reduce(local_sum, reduce, false));
    for (int64_t pos = threadIdx.x; pos < ctx(tt); pos += kThreads) {
      const float prob = __fmul_rn(scores[pos], inv);
      scores[pos] = T == DType::kBF16 ? bf16_ftz(prob) : prob;
    }
  }
  __syncthreads();

  float* out0 = p.out + (t * p.n_heads + head) * hd;
  for (int d = threadIdx.x; d < hd; d += kThreads) {
    float acc[kTile];
#pragma unroll
    for (int tt = 0; tt < kTile; ++tt) acc[tt] = 0.0f;
    if constexpr (T == DType::kBF16) {
      for (int64_t pos = 0; pos < longest; pos += 2) {
        const float v_even = bf16_at(vb, context_row(p, table, pos, kv_offset) + d);
        const float v_odd =
            pos + 1 < longest ? bf16_at(vb, context_row(p, table, pos + 1, kv_offset) + d) : 0.0f;
#pragma unroll
        for (int tt = 0; tt < kTile; ++tt) {
          if (tt >= n_tile || pos >= ctx(tt)) continue;
          const float* scores = scores0 + tt * scores_step;
          const bool pair = pos + 1 < ctx(tt);
          acc[tt] = pair_step(acc[tt], scores[pos], pair ? scores[pos + 1] : 0.0f, v_even,
                              pair ? v_odd : 0.0f);
        }
      }
    } else {
      for (int64_t pos = 0; pos < longest; ++pos) {
        const int64_t e = context_row(p, table, pos, kv_offset) + d;
        const uint8_t* blk = q8_block(vb, e);
        const float d_v = f16_bits_to_f32(load_u16(blk));
        const auto q_v = static_cast<float>(static_cast<int8_t>(blk[2 + e % kQK]));
#pragma unroll
        for (int tt = 0; tt < kTile; ++tt) {
          if (tt >= n_tile || pos >= ctx(tt)) continue;
          const float c = __fmul_rn(scores0[tt * scores_step + pos], d_v);
          acc[tt] = fmaf(c, q_v, acc[tt]);
        }
      }
    }
#pragma unroll
    for (int tt = 0; tt < kTile; ++tt) {
      if (tt < n_tile) out0[tt * q_step + d] = acc[tt];
    }
  }
}

// Tiles of 8 queries: tokens when some tokens of the launch follow each other in position
// (prefill chunks), else the query heads of a kv head (decode steps of grouped-query models),
// else one query.
template <DType T>
void launch_tiled(const dim3& grid, const Params& p, bool consecutive, cudaStream_t stream) {
  constexpr int kTile = 8;
  if (consecutive) {
    launch_kernel<attention_exact_kernel<T, kTile, false>>(grid, kThreads, 0, stream, p);
  } else if (p.group > 1) {
    launch_kernel<attention_exact_kernel<T, kTile, true>>(grid, kThreads, 0, stream, p);
  } else {
    launch_kernel<attention_exact_kernel<T, 1, false>>(grid, kThreads, 0, stream, p);
  }
}

}  // namespace

int64_t attention_exact_scratch_floats(int64_t max_ctx) {
  return (max_ctx + 31) / 32 * 32;
}

void launch_attention_exact(const AttentionArgs& a, cudaStream_t stream) {
  if (a.n_tokens <= 0 || a.n_heads <= 0) return;
  TENBIN_CUDA_REQUIRE(a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0,
                      "attention: n_heads is not a multiple of n_kv_heads");
  TENBIN_CUDA_REQUIRE(a.head_dim > 0 && a.head_dim <= kMaxHeadDim,
                      "attention: head_dim must be at most 256");
  TENBIN_CUDA_REQUIRE(a.cache_type == DType::kQ8_0 ? a.head_dim % kQK == 0 : a.head_dim % 2 == 0,
                      "attention: head_dim does not fit the cache type's groups");
  TENBIN_CUDA_REQUIRE(a.n_heads <= 65535, "attention: too many heads for one launch");

  Params p = attention_params(a);

  // Tokens in chunks whose scores fit the scratch buffer.
  for (int64_t t0 = 0; t0 < a.n_tokens;) {
    const auto [t1, max_ctx] = next_token_chunk(a, t0, [&](int64_t n, int64_t ctx) {
      return n * a.n_heads * attention_exact_scratch_floats(ctx) <= a.scratch_floats &&
             n <= 0x7FFFFFFF;  // grid.x
    });
    p.scores_stride = attention_exact_scratch_floats(max_ctx);
    TENBIN_CUDA_REQUIRE(a.n_heads * p.scores_stride <= a.scratch_floats,
                        "attention: scratch buffer too small for one token's scores");
    p.token_begin = t0;
    p.token_count = t1 - t0;
    const dim3 grid(static_cast<unsigned>(t1 - t0), static_cast<unsigned>(a.n_heads));
    const bool consecutive = has_consecutive_tokens(a, t0, t1);
    if (a.cache_type == DType::kBF16) {
      launch_tiled<DType::kBF16>(grid, p, consecutive, stream);
    } else {
      launch_tiled<DType::kQ8_0>(grid, p, consecutive, stream);
    }
    TENBIN_CUDA_CHECK_LAUNCH("attention_exact kernel", stream);
    t0 = t1;
  }
}

}  // namespace tenbin::cuda
