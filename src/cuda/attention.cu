// Causal paged attention (kernels::attention) with the reference's softmax recipe: scores
// s = (q . k) * scale, e = exp(s - max over the whole context), p = e * (1 / sum of e), p
// rounded like the cache (f16) before the weighted sum of V. Following it matters beyond the
// last bits: a model's activations are quantized again before its next matmul, and a
// difference of one f16 rounding step in p moves quantized values across their rounding
// boundaries (an online softmax without the rounding left logits of quantized models ~1e-3 NMSE
// from the CPU's, against ~1e-6 for float models).
//
// The context of a token is cut into segments of kSegment positions, one block of 4 warps per
// (token, query head, segment). The scores kernel computes a segment's scores (each warp 8
// positions at a time, lanes holding pairs of head dimensions). A token whose whole context is
// one segment finishes in that block: max, exponentials, sum, probabilities and the weighted
// sum, with the scores in shared memory. Longer contexts keep the scores and each segment's max
// in scratch; the exp kernel turns them into e and segment sums against the global max, the
// values kernel normalizes and weights V over its segment, and the merge kernel adds the
// segments' partial outputs in order. The number of segments depends only on the token's own
// position, so a token's result is the same in any batch.
//
// Tiles: queries (token, head) that read the same K and V rows are scored and weighted by one
// block, which loads each row once for all of them (the blocks of the tile's other queries
// return at once): in a prefill chunk, the tokens of a sequence at consecutive positions
// inside one aligned window of kTile positions; in a decode step of a grouped-query model, the
// query heads of one kv head (kTile is 8, or 4 for heads over 128 dimensions). Every query's
// sums run in the order they run alone, so tiling changes no bit. A window never straddles a
// segment boundary, so a tile's queries have the same number of segments.
//
// Differences from the reference: dot products and sums in f32 in a fixed tree order (the
// reference sums in double), CUDA's expf. In a prefill tile each query head still reads its kv
// head's rows itself; tensor cores for long prefills are left for later.
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cuda/attention_params.cuh"
#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

constexpr int kSegment = 128;  // positions per segment
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kWarp;
constexpr int kChunk = 8;  // positions a warp scores at once
constexpr int kMaxHeadDim = 256;

int64_t segments_for(int64_t n_ctx) {
  return (n_ctx + kSegment - 1) / kSegment;
}

__device__ __forceinline__ float2 load_pair(const __half* p) {
  return __half22float2(*reinterpret_cast<const __half2*>(p));
}
__device__ __forceinline__ float2 load_pair(const float* p) {
  return *reinterpret_cast<const float2*>(p);
}
__device__ __forceinline__ float load_one(const __half* p) {
  return __half2float(*p);
}
__device__ __forceinline__ float load_one(const float* p) {
  return *p;
}
__device__ __forceinline__ float round_like_cache(const __half*, float v) {
  return __half2float(__float2half_rn(v));
}
__device__ __forceinline__ float round_like_cache(const float*, float v) {
  return v;
}

using Params = AttentionParams;

// Scratch of one (token, head) with several segments: scores (then exponentials) of every
// position, each segment's max and sum, each segment's partial output.
__host__ __device__ __forceinline__ int64_t state_floats(int max_segments, int head_dim) {
  return static_cast<int64_t>(max_segments) * (kSegment + 2 + head_dim);
}
__device__ __forceinline__ float* state_at(const Params& p, int64_t local_token, int head) {
  return p.scratch + (local_token * p.n_heads + head) * state_floats(p.max_segments, p.head_dim);
}
__device__ __forceinline__ float* scores_at(float* state) {
  return state;
}
__device__ __forceinline__ float* stats_at(const Params& p, float* state) {  // [seg][max, sum]
  return state + static_cast<int64_t>(p.max_segments) * kSegment;
}
__device__ __forceinline__ float* partial_at(const Params& p, float* state, int seg) {
  return state + static_cast<int64_t>(p.max_segments) * (kSegment + 2) +
         static_cast<int64_t>(seg) * p.head_dim;
}

// What a block works on: local token (of this launch), its token index, query head, context
// length and segments; for the segment kernels also its segment (blockIdx.x = local token *
// max_segments + segment, blockIdx.y = head) and that segment's positions.
struct Task {
  int64_t local_token;
  int64_t t;
  int head;
  int64_t n_ctx;
  int n_seg;
  int seg;
  int64_t seg_begin;
  int seg_len;  // 0 when the token has no such segment
};
__device__ __forceinline__ Task task_of(const Params& p, int64_t local_token, int seg) {
  Task k;
  k.local_token = local_token;
  k.t = p.token_begin + local_token;
  k.head = blockIdx.y;
  k.n_ctx = static_cast<int64_t>(p.positions[k.t]) + 1;
  k.n_seg = static_cast<int>((k.n_ctx + kSegment - 1) / kSegment);
  k.seg = seg;
  k.seg_begin = static_cast<int64_t>(seg) * kSegment;
  k.seg_len = seg < k.n_seg
                  ? static_cast<int>(min(k.n_ctx - k.seg_begin, static_cast<int64_t>(kSegment)))
                  : 0;
  return k;
}
__device__ __forceinline__ Task segment_task(const Params& p) {
  return task_of(p, blockIdx.x / p.max_segments, static_cast<int>(blockIdx.x % p.max_segments));
}

// The tile (attention_params.cuh) the block's (token, head) starts.
template <int kTile, bool kHeads>
__device__ __forceinline__ int tile_at(const Params& p, const Task& k) {
  return tile_queries<kTile, kHeads>(p, k.local_token, k.head);
}

// Positions of segment `seg` in the context of the tile's query `tt` (a token tile's queries
// see one position more each): 0 when the query has no such segment.
template <bool kHeads>
__device__ __forceinline__ int tile_seg_len(const Task& k, int tt) {
  const int64_t n_ctx = k.n_ctx + (kHeads ? 0 : tt);
  return k.seg < k.n_seg
             ? static_cast<int>(min(n_ctx - k.seg_begin, static_cast<int64_t>(kSegment)))
             : 0;
}

// Floats from one query's scratch state to the next of its tile.
template <bool kHeads>
__device__ __forceinline__ int64_t state_step(const Params& p) {
  const int64_t one = state_floats(p.max_segments, p.head_dim);
  return kHeads ? one : p.n_heads * one;
}

// Block-wide reductions over kThreads threads, combined in a fixed order; `shared` holds
// kWarps floats. Every thread gets the result.
__device__ __forceinline__ float block_max(float v, float* shared) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  }
  __syncthreads();  // earlier readers of `shared` are done
  if (threadIdx.x % kWarp == 0) shared[threadIdx.x / kWarp] = v;
  __syncthreads();
  float r = shared[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) r = fmaxf(r, shared[w]);
  return r;
}
__device__ __forceinline__ float block_sum(float v, float* shared) {
  v = warp_sum(v);
  __syncthreads();
  if (threadIdx.x % kWarp == 0) shared[threadIdx.x / kWarp] = v;
  __syncthreads();
  float r = shared[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) r += shared[w];
  return r;
}

// For each of the tile's n_tile queries tt: out[tt * out_stride + d] = sum over its positions
// i < len[tt] of prob[tt][i] * V[pos_begin + i][d], in position order (as alone), for the
// dimensions d this thread owns; each V element is read once for the whole tile.
template <class T, int kTile>
__device__ __forceinline__ void weighted_values(const Params& p, const int32_t* table,
                                                int64_t kv_offset, int64_t pos_begin,
                                                const int* len, int n_tile,
                                                const float (*prob)[kSegment], float* out,
                                                int64_t out_stride) {
  const T* vc = static_cast<const T*>(p.v);
  int longest = 0;
#pragma unroll
  for (int tt = 0; tt < kTile; ++tt) {
    if (tt < n_tile) longest = max(longest, len[tt]);
  }
  for (int d = threadIdx.x; d < p.head_dim; d += kThreads) {
    float acc[kTile];
#pragma unroll
    for (int tt = 0; tt < kTile; ++tt) acc[tt] = 0.0f;
    for (int i = 0; i < longest; ++i) {
      const float v = load_one(vc + context_row(p, table, pos_begin + i, kv_offset) + d);
#pragma unroll
      for (int tt = 0; tt < kTile; ++tt) {
        if (tt < n_tile && i < len[tt]) acc[tt] = fmaf(prob[tt][i], v, acc[tt]);
      }
    }
#pragma unroll
    for (int tt = 0; tt < kTile; ++tt) {
      if (tt < n_tile) out[tt * out_stride + d] = acc[tt];
    }
  }
}

template <class T, int kPairs, int kTile, bool kHeads>
__global__ void __launch_bounds__(kThreads) attention_scores_kernel(Params p) {
  __shared__ float scores[kTile][kSegment];
  __shared__ float reduce[kWarps];
  __shared__ int len[kTile];

  const Task k = segment_task(p);
  const int n_tile = tile_at<kTile, kHeads>(p, k);
  if (n_tile == 0 || k.seg >= k.n_seg) return;  // the whole block
  const int64_t local_token = k.local_token, t = k.t;
  const int head = k.head, seg = k.seg, n_seg = k.n_seg;

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int hd = p.head_dim;
  const int32_t* table = p.block_tables + static_cast<int64_t>(p.seq_ids[t]) * p.table_width;
  const int64_t kv_offset = static_cast<int64_t>(head / p.group) * hd;
  const T* kc = static_cast<const T*>(p.k);

  // This lane's dimension pairs of each query's q: 2 * (lane + 32 j) and the next; rounded like
  // the cache.
  const float* q0 = p.q + (t * p.n_heads + head) * hd;
  float2 q[kTile][kPairs];
#pragma unroll
  for (int tt = 0; tt < kTile; ++tt) {
    const float* qh = q0 + tt * query_step<kHeads>(p);
#pragma unroll
    for (int j = 0; j < kPairs; ++j) {
      const int d = 2 * (lane + kWarp * j);
      q[tt][j] = tt < n_tile && d < hd
                     ? make_float2(round_like_cache(kc, qh[d]), round_like_cache(kc, qh[d + 1]))
                     : make_float2(0.0f, 0.0f);
    }
  }
  if (threadIdx.x < kTile) {
    len[threadIdx.x] = tile_seg_len<kHeads>(k, static_cast<int>(threadIdx.x));
  }

  const int64_t seg_begin = k.seg_begin;
  const int longest = tile_seg_len<kHeads>(k, n_tile - 1);
  for (int i0 = warp * kChunk; i0 < longest; i0 += kWarps * kChunk) {
    float2 kr[kChunk][kPairs];
#pragma unroll
    for (int i = 0; i < kChunk; ++i) {
      const bool valid = i0 + i < longest;
      const int64_t row = valid ? context_row(p, table, seg_begin + i0 + i, kv_offset) : 0;
#pragma unroll
      for (int j = 0; j < kPairs; ++j) {
        const int d = 2 * (lane + kWarp * j);
        kr[i][j] = valid && d < hd ? load_pair(kc + row + d) : make_float2(0.0f, 0.0f);
      }
    }
#pragma unroll
    for (int tt = 0; tt < kTile; ++tt) {
      if (tt >= n_tile) break;  // uniform: n_tile is the block's
      const int seg_len = tile_seg_len<kHeads>(k, tt);
#pragma unroll
      for (int i = 0; i < kChunk; ++i) {
        float partial = 0.0f;
#pragma unroll
        for (int j = 0; j < kPairs; ++j) {
          partial = fmaf(q[tt][j].x, kr[i][j].x, partial);
          partial = fmaf(q[tt][j].y, kr[i][j].y, partial);
        }
        const float dot = warp_sum(partial);
        if (lane == 0 && i0 + i < seg_len) scores[tt][i0 + i] = __fmul_rn(dot, p.scale);
      }
    }
  }
  __syncthreads();

#pragma unroll
  for (int tt = 0; tt < kTile; ++tt) {
    if (tt >= n_tile) break;
    const int seg_len = len[tt];
    float local_max = -INFINITY;
    for (int i = threadIdx.x; i < seg_len; i += kThreads) {
      local_max = fmaxf(local_max, scores[tt][i]);
    }
    const float seg_max = block_max(local_max, reduce);

    if (n_seg > 1) {  // the exp and values kernels take over
      float* state = state_at(p, local_token, head) + tt * state_step<kHeads>(p);
      float* s = scores_at(state) + seg_begin;
      for (int i = threadIdx.x; i < seg_len; i += kThreads) s[i] = scores[tt][i];
      if (threadIdx.x == 0) stats_at(p, state)[2 * seg] = seg_max;
      continue;
    }
    float local_sum = 0.0f;
    for (int i = threadIdx.x; i < seg_len; i += kThreads) {
      scores[tt][i] = expf(scores[tt][i] - seg_max);
      local_sum += scores[tt][i];
    }
    const float inv = __fdiv_rn(1.0f, block_sum(local_sum, reduce));
    for (int i = threadIdx.x; i < seg_len; i += kThreads) {
      scores[tt][i] = round_like_cache(kc, __fmul_rn(scores[tt][i], inv));
    }
  }
  if (n_seg > 1) return;
  __syncthreads();
  weighted_values<T, kTile>(p, table, kv_offset, 0, len, n_tile, scores,
                            p.out + (t * p.n_heads + head) * hd, query_step<kHeads>(p));
}

// Context max of (token, head) from its segments' maxima.
__device__ __forceinline__ float context_max(const float* stats, int n_seg) {
  float m = -INFINITY;
  for (int s = 0; s < n_seg; ++s) m = fmaxf(m, stats[2 * s]);
  return m;
}

// Segment `seg`'s scores become exp(s - context max); its sum goes to the stats.
__global__ void __launch_bounds__(kThreads) attention_exp_kernel(Params p) {
  __shared__ float reduce[kWarps];
  const Task k = segment_task(p);
  if (k.n_seg <= 1 || k.seg >= k.n_seg) return;
  const int64_t local_token = k.local_token;
  const int head = k.head, seg = k.seg, n_seg = k.n_seg;
  float* state = state_at(p, local_token, head);
  float* stats = stats_at(p, state);
  const float m = context_max(stats, n_seg);
  const int64_t seg_begin = k.seg_begin;
  const int seg_len = k.seg_len;
  float* s = scores_at(state) + seg_begin;
  float local_sum = 0.0f;
  for (int i = threadIdx.x; i < seg_len; i += kThreads) {
    s[i] = expf(s[i] - m);
    local_sum += s[i];
  }
  const float sum = block_sum(local_sum, reduce);
  if (threadIdx.x == 0) stats[2 * seg + 1] = sum;
}

// Segment `seg`'s probabilities (normalized by the whole context's sum, rounded like the cache)
// weight its V rows into the segment's partial output, for each query of a tile.
template <class T, int kTile, bool kHeads>
__global__ void __launch_bounds__(kThreads) attention_values_kernel(Params p) {
  __shared__ float prob[kTile][kSegment];
  __shared__ int len[kTile];
  const Task k = segment_task(p);
  const int n_tile = tile_at<kTile, kHeads>(p, k);
  if (n_tile == 0 || k.n_seg <= 1 || k.seg >= k.n_seg) return;
  const int64_t local_token = k.local_token, t = k.t;
  const int head = k.head, seg = k.seg, n_seg = k.n_seg;
  const int64_t seg_begin = k.seg_begin;
  const T* kc = static_cast<const T*>(p.k);
#pragma unroll
  for (int tt = 0; tt < kTile; ++tt) {
    if (tt >= n_tile) break;
    float* state = state_at(p, local_token, head) + tt * state_step<kHeads>(p);
    const float* stats = stats_at(p, state);
    float sum = 0.0f;
    for (int s = 0; s < n_seg; ++s) sum += stats[2 * s + 1];
    const float inv = __fdiv_rn(1.0f, sum);
    const int seg_len = tile_seg_len<kHeads>(k, tt);
    const float* e = scores_at(state) + seg_begin;
    for (int i = threadIdx.x; i < seg_len; i += kThreads) {
      prob[tt][i] = round_like_cache(kc, __fmul_rn(e[i], inv));
    }
    if (threadIdx.x == 0) len[tt] = seg_len;
  }
  __syncthreads();
  const int32_t* table = p.block_tables + static_cast<int64_t>(p.seq_ids[t]) * p.table_width;
  const int64_t kv_offset = static_cast<int64_t>(head / p.group) * p.head_dim;
  weighted_values<T, kTile>(p, table, kv_offset, seg_begin, len, n_tile, prob,
                            partial_at(p, state_at(p, local_token, head), seg),
                            state_step<kHeads>(p));
}

// Adds the segments' partial outputs of tokens with more than one segment, in segment order.
__global__ void attention_merge_kernel(Params p) {
  const Task k = task_of(p, blockIdx.x, 0);
  if (k.n_seg <= 1) return;
  const int64_t local_token = k.local_token, t = k.t;
  const int head = k.head, n_seg = k.n_seg;
  float* state = state_at(p, local_token, head);
  float* out = p.out + (t * p.n_heads + head) * p.head_dim;
  for (int d = threadIdx.x; d < p.head_dim; d += blockDim.x) {
    float a = 0.0f;
    for (int s = 0; s < n_seg; ++s) a += partial_at(p, state, s)[d];
    out[d] = a;
  }
}

template <class T, int kPairs, int kTile, bool kHeads>
void launch_kernels(const Params& p, int64_t n_tokens, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(n_tokens * p.max_segments),
                  static_cast<unsigned>(p.n_heads));
  launch_kernel<attention_scores_kernel<T, kPairs, kTile, kHeads>>(grid, kThreads, 0, stream, p);
  TENBIN_CUDA_CHECK_LAUNCH("attention scores kernel", stream);
  if (p.max_segments > 1) {
    launch_kernel<attention_exp_kernel>(grid, kThreads, 0, stream, p);
    TENBIN_CUDA_CHECK_LAUNCH("attention exp kernel", stream);
    launch_kernel<attention_values_kernel<T, kTile, kHeads>>(grid, kThreads, 0, stream, p);
    TENBIN_CUDA_CHECK_LAUNCH("attention values kernel", stream);
    launch_kernel<attention_merge_kernel>(
        dim3(static_cast<unsigned>(n_tokens), static_cast<unsigned>(p.n_heads)), 128, 0, stream, p);
    TENBIN_CUDA_CHECK_LAUNCH("attention merge kernel", stream);
  }
}

// Tiles of 8 queries (4 for heads over 128 dimensions, whose q registers are twice as many):
// tokens when some tokens of the launch follow each other in position (prefill chunks), else
// the query heads of a kv head (decode steps of grouped-query models), else one query.
template <class T, int kPairs>
void launch_tiled(const Params& p, int64_t n_tokens, bool consecutive, cudaStream_t stream) {
  constexpr int kTile = kPairs <= 2 ? 8 : 4;
  if (consecutive) {
    launch_kernels<T, kPairs, kTile, false>(p, n_tokens, stream);
  } else if (p.group > 1) {
    launch_kernels<T, kPairs, kTile, true>(p, n_tokens, stream);
  } else {
    launch_kernels<T, kPairs, 1, false>(p, n_tokens, stream);
  }
}

template <class T>
void launch_typed(const Params& p, int64_t n_tokens, bool consecutive, cudaStream_t stream) {
  const int pairs = (p.head_dim + 2 * kWarp - 1) / (2 * kWarp);
  switch (pairs) {
    case 1:
      return launch_tiled<T, 1>(p, n_tokens, consecutive, stream);
    case 2:
      return launch_tiled<T, 2>(p, n_tokens, consecutive, stream);
    case 3:
      return launch_tiled<T, 3>(p, n_tokens, consecutive, stream);
    default:
      return launch_tiled<T, 4>(p, n_tokens, consecutive, stream);
  }
}

}  // namespace

int64_t attention_min_scratch(int64_t max_ctx, int n_heads, int head_dim) {
  const int64_t segs = segments_for(max_ctx);
  return segs > 1 ? n_heads * state_floats(static_cast<int>(segs), head_dim) : 0;
}

int64_t attention_scratch_floats(int64_t n_tokens, int64_t max_ctx, int n_heads, int head_dim) {
  return n_tokens * attention_min_scratch(max_ctx, n_heads, head_dim);
}

void launch_attention(const AttentionArgs& a, cudaStream_t stream) {
  if (a.cache_type == DType::kBF16 || a.cache_type == DType::kQ8_0) {
    return launch_attention_exact(a, stream);
  }
  if (a.n_tokens <= 0 || a.n_heads <= 0) return;
  TENBIN_CUDA_REQUIRE(a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0,
                      "attention: n_heads is not a multiple of n_kv_heads");
  TENBIN_CUDA_REQUIRE(a.head_dim > 0 && a.head_dim % 2 == 0 && a.head_dim <= kMaxHeadDim,
                      "attention: head_dim must be even and at most 256");
  TENBIN_CUDA_REQUIRE(a.block_size > 0, "attention: block_size must be positive");
  TENBIN_CUDA_REQUIRE(a.n_heads <= 65535, "attention: too many heads for one launch");

  Params p = attention_params(a);

  // Tokens in chunks whose segment states fit the scratch buffer.
  for (int64_t t0 = 0; t0 < a.n_tokens;) {
    const auto [t1, max_ctx] = next_token_chunk(a, t0, [&](int64_t n, int64_t ctx) {
      return n * attention_min_scratch(ctx, a.n_heads, a.head_dim) <= a.scratch_floats &&
             n * segments_for(ctx) <= 0x7FFFFFFF;  // grid.x
    });
    TENBIN_CUDA_REQUIRE(attention_min_scratch(max_ctx, a.n_heads, a.head_dim) <= a.scratch_floats,
                        "attention: scratch buffer too small for one token's context");
    p.token_begin = t0;
    p.token_count = t1 - t0;
    p.max_segments = static_cast<int>(segments_for(max_ctx));
    const bool consecutive = has_consecutive_tokens(a, t0, t1);
    if (a.cache_type == DType::kF16) {
      launch_typed<__half>(p, t1 - t0, consecutive, stream);
    } else {
      launch_typed<float>(p, t1 - t0, consecutive, stream);
    }
    t0 = t1;
  }
}

}  // namespace tenbin::cuda
