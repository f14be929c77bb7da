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
// One block per (token, query head): the threads score positions (one position's chain each),
// the block takes the softmax (f32 sums in a fixed tree, where the reference sums in double),
// then each thread runs the chains of its output elements. Scores sit in scratch, one context
// per (token, head). Simple rather than fast: these caches are opt-in, chosen for memory.
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

template <DType T>
__global__ void __launch_bounds__(kThreads) attention_exact_kernel(Params p) {
  __shared__ float qf[kMaxHeadDim];          // BF16: q rounded to bf16
  __shared__ int qq_words[kMaxHeadDim / 4];  // Q8_0: q's quants, four to a word
  auto* qq = reinterpret_cast<int8_t*>(qq_words);
  __shared__ float qd[kMaxHeadDim / kQK];  // Q8_0: their scales
  __shared__ float reduce[kWarps];

  const int64_t local_token = blockIdx.x;
  const int head = blockIdx.y;
  const int64_t t = p.token_begin + local_token;
  const int64_t n_ctx = static_cast<int64_t>(p.positions[t]) + 1;
  const int hd = p.head_dim;
  const int32_t* table = p.block_tables + static_cast<int64_t>(p.seq_ids[t]) * p.table_width;
  const int64_t kv_offset = static_cast<int64_t>(head / p.group) * hd;
  const float* qh = p.q + (t * p.n_heads + head) * hd;
  float* scores = p.scratch + (local_token * p.n_heads + head) * p.scores_stride;
  const auto* kb = static_cast<const uint8_t*>(p.k);
  const auto* vb = static_cast<const uint8_t*>(p.v);

  if constexpr (T == DType::kBF16) {
    for (int d = threadIdx.x; d < hd; d += kThreads) qf[d] = bf16_ftz(qh[d]);
  } else {
    // The Q8_0 activation recipe per 32 (act_convert.cu): one warp per group.
    const int lane = threadIdx.x % kWarp;
    for (int g = threadIdx.x / kWarp; g < hd / kQK; g += kWarps) {
      float amax;
      qq[g * kQK + lane] = static_cast<int8_t>(quantize_q8_lane(qh[g * kQK + lane], amax));
      if (lane == 0) qd[g] = __half2float(__float2half_rn(amax / 127.0f));
    }
  }
  __syncthreads();

  float local_max = -INFINITY;
  for (int64_t pos = threadIdx.x; pos < n_ctx; pos += kThreads) {
    const int64_t e = context_row(p, table, pos, kv_offset);
    float acc = 0.0f;
    if constexpr (T == DType::kBF16) {
      for (int d = 0; d < hd; d += 2) {
        acc = pair_step(acc, qf[d], qf[d + 1], bf16_at(kb, e + d), bf16_at(kb, e + d + 1));
      }
    } else {
      for (int g = 0; g < hd / kQK; ++g) {
        const uint8_t* blk = q8_block(kb, e + g * kQK);
        int isum = 0;
        for (int i = 0; i < kQK; i += 4) {
          isum = dp4a(load_i32_a2(blk + 2 + i), load_i32(qq + g * kQK + i), isum);
        }
        const float dd = __fmul_rn(f16_bits_to_f32(load_u16(blk)), qd[g]);
        acc = fmaf(static_cast<float>(isum), dd, acc);
      }
    }
    scores[pos] = __fmul_rn(acc, p.scale);
    local_max = fmaxf(local_max, scores[pos]);
  }
  const float max = block_reduce(local_max, reduce, true);
  float local_sum = 0.0f;
  for (int64_t pos = threadIdx.x; pos < n_ctx; pos += kThreads) {
    scores[pos] = expf(scores[pos] - max);
    local_sum += scores[pos];
  }
  const float inv = __fdiv_rn(1.0f, block_reduce(local_sum, reduce, false));
  for (int64_t pos = threadIdx.x; pos < n_ctx; pos += kThreads) {
    const float prob = __fmul_rn(scores[pos], inv);
    scores[pos] = T == DType::kBF16 ? bf16_ftz(prob) : prob;
  }
  __syncthreads();

  float* out = p.out + (t * p.n_heads + head) * hd;
  for (int d = threadIdx.x; d < hd; d += kThreads) {
    float acc = 0.0f;
    if constexpr (T == DType::kBF16) {
      for (int64_t pos = 0; pos < n_ctx; pos += 2) {
        const bool pair = pos + 1 < n_ctx;
        const float v_odd =
            pair ? bf16_at(vb, context_row(p, table, pos + 1, kv_offset) + d) : 0.0f;
        acc = pair_step(acc, scores[pos], pair ? scores[pos + 1] : 0.0f,
                        bf16_at(vb, context_row(p, table, pos, kv_offset) + d), v_odd);
      }
    } else {
      for (int64_t pos = 0; pos < n_ctx; ++pos) {
        const int64_t e = context_row(p, table, pos, kv_offset) + d;
        const uint8_t* blk = q8_block(vb, e);
        const float c = __fmul_rn(scores[pos], f16_bits_to_f32(load_u16(blk)));
        acc = fmaf(c, static_cast<float>(static_cast<int8_t>(blk[2 + e % kQK])), acc);
      }
    }
    out[d] = acc;
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
    const dim3 grid(static_cast<unsigned>(t1 - t0), static_cast<unsigned>(a.n_heads));
    if (a.cache_type == DType::kBF16) {
      launch_kernel<attention_exact_kernel<DType::kBF16>>(grid, kThreads, 0, stream, p);
    } else {
      launch_kernel<attention_exact_kernel<DType::kQ8_0>>(grid, kThreads, 0, stream, p);
    }
    TENBIN_CUDA_CHECK_LAUNCH("attention_exact kernel", stream);
    t0 = t1;
  }
}

}  // namespace tenbin::cuda
