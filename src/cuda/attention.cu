// Causal paged attention (kernels::attention) in one pass over the cache with an online softmax,
// so any context length runs without a scores buffer.
//
// The context of a token is cut into segments of kSegment positions. One block of 4 warps runs
// per (token, query head, segment); each warp takes 8 positions at a time (their K and V rows
// loaded together), lanes holding pairs of head dimensions, and keeps a running (max, sum,
// weighted V) state; the block folds its 4 warp states in a fixed order. A token whose context
// is one segment writes its output directly; longer contexts write one state per segment to a
// scratch buffer, and a second kernel folds the segments in order. The number of segments
// depends only on the token's own position, so a token's result is the same in any batch.
//
// Numerics against the reference (kernels/ref/ops.cc): with an f16 cache q is rounded to f16
// before the K dots (exact f16 products, summed in f32 instead of double); scores are scaled as
// there; the softmax is the online one (f32 exp and sums, max subtracted per chunk and rescaled)
// and the probabilities are not rounded to f16 before the V sum, unlike the reference, whose two
// passes that would need. Expect ~1e-3 relative differences on outputs with an f16 cache.
// Query heads of one kv head read the same rows (through L2); GQA sharing inside a block, and
// tensor cores for long prefills, are left for later.
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

constexpr int kSegment = 128;  // positions per segment
constexpr int kWarps = 4;
constexpr int kChunk = 8;  // positions a warp loads at once
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
__device__ __forceinline__ float round_like_cache(const __half*, float v) {
  return __half2float(__float2half_rn(v));
}
__device__ __forceinline__ float round_like_cache(const float*, float v) {
  return v;
}

struct Params {
  const float* q;
  float* out;
  const void* k;
  const void* v;
  int64_t row_stride;
  int block_size;
  const int32_t* positions;
  const int32_t* seq_ids;
  const int32_t* block_tables;
  int64_t table_width;
  int64_t token_begin;  // first token of this launch
  int n_heads;
  int group;  // query heads per kv head
  int head_dim;
  float scale;
  int max_segments;  // segments per token in this launch's grid
  float* scratch;    // [tokens of the launch][n_heads][max_segments][head_dim + 2]
};

// Partial state of one segment in scratch: m, l, then head_dim weighted V sums.
__device__ __forceinline__ float* state_at(const Params& p, int64_t local_token, int head,
                                           int seg) {
  const int64_t index = (local_token * p.n_heads + head) * p.max_segments + seg;
  return p.scratch + index * (p.head_dim + 2);
}

template <class T, int kPairs>
__global__ void __launch_bounds__(kWarps* kWarp) attention_kernel(Params p) {
  __shared__ float warp_m[kWarps], warp_l[kWarps];
  __shared__ float warp_acc[kWarps][kMaxHeadDim];

  const int64_t local_token = blockIdx.x / p.max_segments;
  const int seg = static_cast<int>(blockIdx.x % p.max_segments);
  const int head = blockIdx.y;
  const int64_t t = p.token_begin + local_token;
  const int64_t n_ctx = static_cast<int64_t>(p.positions[t]) + 1;
  const int n_seg = static_cast<int>((n_ctx + kSegment - 1) / kSegment);
  if (seg >= n_seg) return;  // the whole block

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int hd = p.head_dim;
  const int32_t* table = p.block_tables + static_cast<int64_t>(p.seq_ids[t]) * p.table_width;
  const int64_t kv_offset = static_cast<int64_t>(head / p.group) * hd;
  const T* kc = static_cast<const T*>(p.k);
  const T* vc = static_cast<const T*>(p.v);

  // This lane's dimension pairs: 2 * (lane + 32 j) and the next.
  float2 q[kPairs];
  const float* qh = p.q + (t * p.n_heads + head) * hd;
#pragma unroll
  for (int j = 0; j < kPairs; ++j) {
    const int d = 2 * (lane + kWarp * j);
    q[j] = d < hd ? make_float2(round_like_cache(kc, qh[d]), round_like_cache(kc, qh[d + 1]))
                  : make_float2(0.0f, 0.0f);
  }

  float m = -INFINITY, l = 0.0f;
  float2 acc[kPairs];
#pragma unroll
  for (int j = 0; j < kPairs; ++j) acc[j] = make_float2(0.0f, 0.0f);

  const int64_t seg_begin = static_cast<int64_t>(seg) * kSegment;
  const int64_t seg_end = min(n_ctx, seg_begin + kSegment);
  for (int64_t p0 = seg_begin + warp * kChunk; p0 < seg_end; p0 += kWarps * kChunk) {
    float2 kr[kChunk][kPairs], vr[kChunk][kPairs];
#pragma unroll
    for (int i = 0; i < kChunk; ++i) {
      const int64_t pos = p0 + i;
      if (pos < seg_end) {
        const int64_t slot =
            static_cast<int64_t>(table[pos / p.block_size]) * p.block_size + pos % p.block_size;
        const int64_t row = slot * p.row_stride + kv_offset;
#pragma unroll
        for (int j = 0; j < kPairs; ++j) {
          const int d = 2 * (lane + kWarp * j);
          if (d < hd) {
            kr[i][j] = load_pair(kc + row + d);
            vr[i][j] = load_pair(vc + row + d);
          } else {
            kr[i][j] = vr[i][j] = make_float2(0.0f, 0.0f);
          }
        }
      } else {
#pragma unroll
        for (int j = 0; j < kPairs; ++j) kr[i][j] = vr[i][j] = make_float2(0.0f, 0.0f);
      }
    }
    float s[kChunk];
    float chunk_max = -INFINITY;
#pragma unroll
    for (int i = 0; i < kChunk; ++i) {
      float partial = 0.0f;
#pragma unroll
      for (int j = 0; j < kPairs; ++j) {
        partial = fmaf(q[j].x, kr[i][j].x, partial);
        partial = fmaf(q[j].y, kr[i][j].y, partial);
      }
      const float dot = warp_sum(partial);
      s[i] = p0 + i < seg_end ? __fmul_rn(dot, p.scale) : -INFINITY;
      chunk_max = fmaxf(chunk_max, s[i]);
    }
    const float m_new = fmaxf(m, chunk_max);   // finite: position p0 is in the segment
    const float correction = expf(m - m_new);  // 0 for the first chunk (m = -inf)
    l *= correction;
#pragma unroll
    for (int j = 0; j < kPairs; ++j) {
      acc[j].x *= correction;
      acc[j].y *= correction;
    }
#pragma unroll
    for (int i = 0; i < kChunk; ++i) {
      const float prob = p0 + i < seg_end ? expf(s[i] - m_new) : 0.0f;
      l += prob;
#pragma unroll
      for (int j = 0; j < kPairs; ++j) {
        acc[j].x = fmaf(prob, vr[i][j].x, acc[j].x);
        acc[j].y = fmaf(prob, vr[i][j].y, acc[j].y);
      }
    }
    m = m_new;
  }

  // Fold the warps' states in warp order.
  if (lane == 0) {
    warp_m[warp] = m;
    warp_l[warp] = l;
  }
#pragma unroll
  for (int j = 0; j < kPairs; ++j) {
    const int d = 2 * (lane + kWarp * j);
    if (d < hd) {
      warp_acc[warp][d] = acc[j].x;
      warp_acc[warp][d + 1] = acc[j].y;
    }
  }
  __syncthreads();
  float m_all = -INFINITY;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) m_all = fmaxf(m_all, warp_m[w]);
  float weight[kWarps];
  float l_all = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) {
    weight[w] = warp_m[w] == -INFINITY ? 0.0f : expf(warp_m[w] - m_all);
    l_all = fmaf(warp_l[w], weight[w], l_all);
  }
  float* state = n_seg > 1 ? state_at(p, local_token, head, seg) : nullptr;
  float* out = p.out + (t * p.n_heads + head) * hd;
  for (int d = threadIdx.x; d < hd; d += kWarps * kWarp) {
    float a = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) a = fmaf(warp_acc[w][d], weight[w], a);
    if (state != nullptr) {
      state[2 + d] = a;
    } else {
      out[d] = a / l_all;
    }
  }
  if (state != nullptr && threadIdx.x == 0) {
    state[0] = m_all;
    state[1] = l_all;
  }
}

// Folds the segment states of tokens with more than one segment, in segment order.
__global__ void attention_merge_kernel(Params p) {
  const int64_t local_token = blockIdx.x;
  const int head = blockIdx.y;
  const int64_t t = p.token_begin + local_token;
  const int64_t n_ctx = static_cast<int64_t>(p.positions[t]) + 1;
  const int n_seg = static_cast<int>((n_ctx + kSegment - 1) / kSegment);
  if (n_seg <= 1) return;
  float m_all = -INFINITY;
  for (int s = 0; s < n_seg; ++s) m_all = fmaxf(m_all, state_at(p, local_token, head, s)[0]);
  float l_all = 0.0f;
  for (int s = 0; s < n_seg; ++s) {
    const float* st = state_at(p, local_token, head, s);
    l_all = fmaf(st[1], expf(st[0] - m_all), l_all);
  }
  float* out = p.out + (t * p.n_heads + head) * p.head_dim;
  for (int d = threadIdx.x; d < p.head_dim; d += blockDim.x) {
    float a = 0.0f;
    for (int s = 0; s < n_seg; ++s) {
      const float* st = state_at(p, local_token, head, s);
      a = fmaf(st[2 + d], expf(st[0] - m_all), a);
    }
    out[d] = a / l_all;
  }
}

template <class T>
void launch_typed(const Params& p, int64_t n_tokens, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(n_tokens * p.max_segments),
                  static_cast<unsigned>(p.n_heads));
  const int pairs = (p.head_dim + 2 * kWarp - 1) / (2 * kWarp);
  switch (pairs) {
    case 1:
      attention_kernel<T, 1><<<grid, kWarps * kWarp, 0, stream>>>(p);
      break;
    case 2:
      attention_kernel<T, 2><<<grid, kWarps * kWarp, 0, stream>>>(p);
      break;
    case 3:
      attention_kernel<T, 3><<<grid, kWarps * kWarp, 0, stream>>>(p);
      break;
    default:
      attention_kernel<T, 4><<<grid, kWarps * kWarp, 0, stream>>>(p);
      break;
  }
  TENBIN_CUDA_CHECK_LAUNCH("attention kernel", stream);
  if (p.max_segments > 1) {
    attention_merge_kernel<<<
        dim3(static_cast<unsigned>(n_tokens), static_cast<unsigned>(p.n_heads)), 128, 0, stream>>>(
        p);
    TENBIN_CUDA_CHECK_LAUNCH("attention merge kernel", stream);
  }
}

}  // namespace

int64_t attention_min_scratch(int64_t max_ctx, int n_heads, int head_dim) {
  const int64_t segs = segments_for(max_ctx);
  return segs > 1 ? segs * n_heads * (head_dim + 2) : 0;
}

int64_t attention_scratch_floats(int64_t n_tokens, int64_t max_ctx, int n_heads, int head_dim) {
  return n_tokens * attention_min_scratch(max_ctx, n_heads, head_dim);
}

void launch_attention(const AttentionArgs& a, cudaStream_t stream) {
  if (a.n_tokens <= 0 || a.n_heads <= 0) return;
  TENBIN_CUDA_REQUIRE(a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0,
                      "attention: n_heads is not a multiple of n_kv_heads");
  TENBIN_CUDA_REQUIRE(a.head_dim > 0 && a.head_dim % 2 == 0 && a.head_dim <= kMaxHeadDim,
                      "attention: head_dim must be even and at most 256");
  TENBIN_CUDA_REQUIRE(a.block_size > 0, "attention: block_size must be positive");
  TENBIN_CUDA_REQUIRE(a.n_heads <= 65535, "attention: too many heads for one launch");

  Params p{};
  p.q = a.q;
  p.out = a.out;
  p.k = a.k;
  p.v = a.v;
  p.row_stride = a.row_stride;
  p.block_size = a.block_size;
  p.positions = a.positions;
  p.seq_ids = a.seq_ids;
  p.block_tables = a.block_tables;
  p.table_width = a.table_width;
  p.n_heads = a.n_heads;
  p.group = a.n_heads / a.n_kv_heads;
  p.head_dim = a.head_dim;
  p.scale = a.scale;
  p.scratch = a.scratch;

  // Tokens in chunks whose segment states fit the scratch buffer.
  int64_t t0 = 0;
  while (t0 < a.n_tokens) {
    int64_t max_ctx = 0;
    int64_t t1 = t0;
    for (; t1 < a.n_tokens; ++t1) {
      const int64_t ctx = std::max<int64_t>(max_ctx, a.host_positions[t1] + 1);
      const int64_t need = (t1 - t0 + 1) * attention_min_scratch(ctx, a.n_heads, a.head_dim);
      const int64_t grid_x = (t1 - t0 + 1) * segments_for(ctx);
      if (t1 > t0 && (need > a.scratch_floats || grid_x > 0x7FFFFFFF)) break;
      max_ctx = ctx;
    }
    TENBIN_CUDA_REQUIRE(attention_min_scratch(max_ctx, a.n_heads, a.head_dim) <= a.scratch_floats,
                        "attention: scratch buffer too small for one token's context");
    p.token_begin = t0;
    p.max_segments = static_cast<int>(segments_for(max_ctx));
    if (a.cache_f16) {
      launch_typed<__half>(p, t1 - t0, stream);
    } else {
      launch_typed<float>(p, t1 - t0, stream);
    }
    t0 = t1;
  }
}

}  // namespace tenbin::cuda
