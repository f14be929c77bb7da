// Paged causal attention over a Q8_0 KV cache (recipe: kernels/ops.h; layout:
// kernels/kv_layout.h), written once against a SIMD vocabulary S, for a span of consecutive
// tokens of one sequence. Scores: each query head is quantized per 32 elements and dotted with
// the keys of kW positions at a time in int8 (one position per int32 lane, four elements per
// instruction: S::s8_dot), each group's exact integer sum scaled into an f32 fma chain. Weighted
// sum: the probabilities times each position's V scales first (one f32 product per position and
// group), then one fma per element, the int8 values widened once for all heads of a pass. Each
// token's result is the reference recipe's operations, so it depends neither on the other
// tokens nor on where the blocks are. Included only by the per-ISA files (through
// attention_kernels.h), inside an anonymous namespace, so each ISA gets its own copy.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/cpu/attention_common.h"
#include "kernels/cpu/attention_prefetch.h"
#include "kernels/cpu/float_kernels.h"
#include "kernels/kv_layout.h"
#include "kernels/ops.h"
#include "kernels/scratch.h"
#include "tensor/half.h"

namespace tenbin::kernels::cpu {
namespace {

// A span's queries of one kv head, quantized: quants [n][hd]; per query and 32-element group
// its scale (as the reference reads it back from f16) and the sum of its quants.
struct QueriesQ8 {
  const int8_t* quants;
  const float* scales;
  const int32_t* sums;
  int hd;
  int groups;
};

// The activation recipe (ref::quantize_act_q8_0) of one row of hd elements: per 32 elements
// amax, id = 127 / amax, q = round-half-even(x * id), d = f16(amax / 127).
template <class S>
void quantize_query(const float* x, int hd, int8_t* q, float* d, int32_t* sums) {
  for (int g = 0; g < hd / kKvQ8Group; ++g) {
    const float* xg = x + g * kKvQ8Group;
    const float amax = block_amax<S>(xg);
    sums[g] = round_block_s8<S>(xg, amax != 0 ? 127.0f / amax : 0.0f, q + g * kKvQ8Group);
    d[g] = fp16_to_f32(f32_to_fp16(amax / 127.0f));
  }
}

// Scores of NQ queries (from `first` on) against one chunk of kW positions, lane j for the
// chunk's position j: quants [hd / 4][quad_step / 4 positions][4] from `quants` (kW positions
// of them, from lane 0), scales [groups][group_step / 2 positions] f16 from `scales`.
template <class S, int NQ>
void q8_chunk_scores(const uint8_t* quants, int64_t quad_step, const uint8_t* scales,
                     int64_t group_step, const QueriesQ8& qs, int64_t first, float scale,
                     float* out, int64_t stride) {
  using V = typename S::V;
  using I = typename S::I;
  constexpr int kQuadsPerGroup = kKvQ8Group / 4;
  V acc[NQ];
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) acc[i] = S::zero();
  for (int g = 0; g < qs.groups; ++g) {
    I isum[NQ];
#pragma GCC unroll 16
    for (int i = 0; i < NQ; ++i) isum[i] = S::s8_dot_start(qs.sums[(first + i) * qs.groups + g]);
#pragma GCC unroll 8
    for (int s = 0; s < kQuadsPerGroup; ++s) {
      const int quad = g * kQuadsPerGroup + s;
      const I k = S::load_s8_quads(quants + quad * quad_step);
      const I keys = S::s8_dot_keys(k);
#pragma GCC unroll 16
      for (int i = 0; i < NQ; ++i) {
        int32_t q4;
        std::memcpy(&q4, qs.quants + (first + i) * qs.hd + quad * 4, 4);
        isum[i] = S::s8_dot(isum[i], keys, k, q4);
      }
    }
    const V dk = S::load_f16(reinterpret_cast<const uint16_t*>(scales + g * group_step));
#pragma GCC unroll 16
    for (int i = 0; i < NQ; ++i) {
      const V dd = S::mul(dk, S::set1(qs.scales[(first + i) * qs.groups + g]));
      acc[i] = S::fmadd(S::to_float(isum[i]), dd, acc[i]);
    }
  }
  const V vs = S::set1(scale);
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) S::store(out + i * stride, S::mul(acc[i], vs));
}

// Queries per pass: an int32 and an f32 accumulator each, in the registers.
template <class S>
constexpr int kQ8ScoreQueries = S::kW == 16 ? 8 : 4;

template <class S, int... N>
void q8_chunk_scores_tail(std::integer_sequence<int, N...>, int nq, const uint8_t* quants,
                          int64_t quad_step, const uint8_t* scales, int64_t group_step,
                          const QueriesQ8& qs, int64_t first, float scale, float* out,
                          int64_t stride) {
  ((nq == N + 1 ? q8_chunk_scores<S, N + 1>(quants, quad_step, scales, group_step, qs, first, scale,
                                            out, stride)
                : void()),
   ...);
}

// The scores of queries first .. first + nq - 1 against one chunk, kQ8ScoreQueries at a time.
template <class S>
void q8_chunk_scores_all(const uint8_t* quants, int64_t quad_step, const uint8_t* scales,
                         int64_t group_step, const QueriesQ8& qs, int64_t first, int64_t nq,
                         float scale, float* out, int64_t stride) {
  constexpr int kNq = kQ8ScoreQueries<S>;
  int64_t i = 0;
  for (; i + kNq <= nq; i += kNq) {
    q8_chunk_scores<S, kNq>(quants, quad_step, scales, group_step, qs, first + i, scale,
                            out + i * stride, stride);
  }
  q8_chunk_scores_tail<S>(std::make_integer_sequence<int, kNq - 1>{}, static_cast<int>(nq - i),
                          quants, quad_step, scales, group_step, qs, first + i, scale,
                          out + i * stride, stride);
}

// out[h][d0 .. d0 + NV * kW - 1] = sum_p coef[h][g(d)][p] * V[p][d] for the nh <= H heads of
// one pass over a slice of NV vectors of the head (coef: the probability times the position's V
// scale of the 32-element group g(d) holding d; rows `stride` apart, the groups of a head next
// to each other), positions in order, each output vector accumulated in a register by one fma
// per position. Each V element of the slice is widened to f32 once per pass.
template <class S, int NV, int H>
void attend_values_q8(const uint8_t* vb, const int64_t* v_rows, int64_t n_ctx, const float* coef,
                      int64_t stride, int groups, int d0, int nh, float* out, int hd) {
  using V = typename S::V;
  V acc[H * NV];
#pragma GCC unroll 16
  for (int i = 0; i < H * NV; ++i) acc[i] = S::zero();
  constexpr int kVecsPerGroup = kKvQ8Group / S::kW;
  const float* group_coef = coef + int64_t{d0 / kKvQ8Group} * stride;  // the slice's first group
  for (int64_t p = 0; p < n_ctx; ++p) {
    const auto* vrow = reinterpret_cast<const int8_t*>(vb + v_rows[p] + d0);
    if (d0 == 0 && p + kValuesAhead < n_ctx) prefetch_bytes<S>(vb + v_rows[p + kValuesAhead], hd);
    V vr[NV];
#pragma GCC unroll 16
    for (int j = 0; j < NV; ++j) vr[j] = S::load_s8(vrow + j * S::kW);
#pragma GCC unroll 16
    for (int h = 0; h < H; ++h) {
      if (h >= nh) break;
      const float* ch = group_coef + int64_t{h} * groups * stride + p;
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j) {
        const V c = S::set1(ch[j / kVecsPerGroup * stride]);
        acc[h * NV + j] = S::fmadd(c, vr[j], acc[h * NV + j]);
      }
    }
  }
  store_head_slices<S, NV, H>(acc, nh, out, hd, d0);
}

// attend_values_q8 over all `group` heads. Where the whole row of every head fits the
// accumulator budget (few heads per kv head, as in multi-head attention) a pass covers whole
// rows; otherwise it covers one 32-element group for as many heads as fit (eight on AVX-512), so
// each V element is still widened once per pass of heads: the widening runs on the same ports as
// the fmas, and widening whole rows in passes of four heads cost ~25% of TinyLlama's sum.
template <class S>
void attend_values_q8_group(const uint8_t* vb, const int64_t* v_rows, int64_t n_ctx,
                            const float* coef, int64_t stride, int groups, int group, int hd,
                            float* out) {
  constexpr int kBudget = S::kW == 16 ? 16 : 8;  // accumulators: half the register file or so
  auto run = [&](auto nv_c, int slice) {
    constexpr int kNv = decltype(nv_c)::value;
    constexpr int kH = kBudget / kNv > 0 ? kBudget / kNv : 1;
    for (int h0 = 0; h0 < group; h0 += kH) {
      for (int d0 = 0; d0 < hd; d0 += slice) {
        attend_values_q8<S, kNv, kH>(vb, v_rows, n_ctx, coef + int64_t{h0} * groups * stride,
                                     stride, groups, d0, std::min(kH, group - h0),
                                     out + int64_t{h0} * hd, hd);
      }
    }
  };
  const int row_vecs = hd / S::kW;
  if (row_vecs * group <= kBudget) {
    switch (row_vecs) {
      case 2:
        return run(std::integral_constant<int, 2>{}, hd);
      case 4:
        return run(std::integral_constant<int, 4>{}, hd);
      case 8:
        return run(std::integral_constant<int, 8>{}, hd);
      case 16:
        return run(std::integral_constant<int, 16>{}, hd);
      default:
        break;
    }
  }
  run(std::integral_constant<int, kKvQ8Group / S::kW>{}, kKvQ8Group);
}

// Per kv head: the group's queries of every token quantized; per chunk of kW positions, the
// keys dotted with every query whose context reaches into it (read in place when the chunk is
// one run inside a block, else gathered into a chunk of the same layout); then the V scales by
// position, and per token the softmax over its own context, the coefficients and the weighted
// sum over V in position order.
template <class S>
void attention_span_q8(const float* q, int64_t q_stride, int64_t n_q, const KvView& kv,
                       int64_t first_n_ctx, const AttentionShape& shape, float* out,
                       int64_t out_stride) {
  constexpr int W = S::kW;
  const int group = shape.n_heads / shape.n_kv_heads;
  const int hd = shape.head_dim, groups = hd / kKvQ8Group;
  const int64_t group_width = static_cast<int64_t>(group) * hd;
  const int64_t n_ctx_max = first_n_ctx + n_q - 1;
  const int64_t n_chunks = (n_ctx_max + W - 1) / W;
  const int64_t stride = n_chunks * W;  // between score rows
  const int64_t n_queries = n_q * group;
  const int bs = kv.block_size;
  struct TilesTag;
  struct InBlockTag;
  struct VRowsTag;
  struct ScoresTag;
  struct QuantsTag;
  struct QScalesTag;
  struct QSumsTag;
  struct VScalesTag;
  struct CoefTag;
  struct ChunkTag;
  const auto n_pos = static_cast<size_t>(n_ctx_max);
  int64_t* tiles = thread_scratch<int64_t, TilesTag>(n_pos);  // bytes to kv head 0's tile
  int32_t* in_block = thread_scratch<int32_t, InBlockTag>(n_pos);
  int64_t* v_rows = thread_scratch<int64_t, VRowsTag>(n_pos);
  float* scores = thread_scratch<float, ScoresTag>(static_cast<size_t>(n_queries * stride));
  int8_t* qq = thread_scratch<int8_t, QuantsTag>(static_cast<size_t>(n_queries * hd));
  float* qd = thread_scratch<float, QScalesTag>(static_cast<size_t>(n_queries * groups));
  int32_t* qsum = thread_scratch<int32_t, QSumsTag>(static_cast<size_t>(n_queries * groups));
  float* v_scales = thread_scratch<float, VScalesTag>(static_cast<size_t>(groups * stride));
  float* coef = thread_scratch<float, CoefTag>(static_cast<size_t>(group * groups * stride));
  uint8_t* chunk =
      thread_scratch<uint8_t, ChunkTag>(static_cast<size_t>(kv_bytes(DType::kQ8_0, hd * W)));
  for (int64_t first = 0; first < n_ctx_max; first += bs) {
    const int64_t block = kv.block_table[first / bs];
    const int64_t tile = kv_bytes(DType::kQ8_0, kv_tile_element(block, kv.row_stride, hd, 0, bs));
    for (int64_t j = 0; j < std::min<int64_t>(bs, n_ctx_max - first); ++j) {
      tiles[first + j] = tile;
      in_block[first + j] = static_cast<int32_t>(j);
      v_rows[first + j] = tile + j * hd;
    }
  }
  const int64_t scales_at = int64_t{hd} * bs;  // bytes from a tile to its scales
  const int64_t tile_bytes = kv_bytes(DType::kQ8_0, int64_t{hd} * bs);
  const QueriesQ8 qs{qq, qd, qsum, hd, groups};
  for (int kvh = 0; kvh < shape.n_kv_heads; ++kvh) {
    const int64_t h0_off = static_cast<int64_t>(kvh) * group_width;
    const int64_t kv_off =
        kv_bytes(DType::kQ8_0, kv_head_offset(KvLayout::kHeadBlocks, bs, hd, kvh));
    const uint8_t* kb = static_cast<const uint8_t*>(kv.k) + kv_off;
    const uint8_t* vb = static_cast<const uint8_t*>(kv.v) + kv_off;
    for (int64_t i = 0; i < n_q; ++i) {
      for (int h = 0; h < group; ++h) {
        const int64_t query = i * group + h;
        quantize_query<S>(q + i * q_stride + h0_off + int64_t{h} * hd, hd, qq + query * hd,
                          qd + query * groups, qsum + query * groups);
      }
    }
    for (int64_t p = 0; p < kKeyBlocksAhead * bs && p < n_ctx_max; p += bs) {
      prefetch_bytes<S>(kb + tiles[p], tile_bytes);
    }
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t p0 = c * W;
      const int n_rows = static_cast<int>(std::min<int64_t>(W, n_ctx_max - p0));
      const int64_t i_first = std::max<int64_t>(0, p0 - first_n_ctx + 1);
      const int64_t nq = (n_q - i_first) * group;
      float* chunk_out = scores + i_first * group * stride + p0;
      if (p0 % bs == 0 && p0 + kKeyBlocksAhead * bs < n_ctx_max) {
        prefetch_bytes<S>(kb + tiles[p0 + kKeyBlocksAhead * bs], tile_bytes);
      }
      const bool whole = n_rows == W && tiles[p0 + W - 1] == tiles[p0] &&
                         in_block[p0 + W - 1] == in_block[p0] + W - 1;
      if (whole) {
        const uint8_t* t = kb + tiles[p0];
        q8_chunk_scores_all<S>(t + in_block[p0] * 4, int64_t{bs} * 4,
                               t + scales_at + in_block[p0] * 2, int64_t{bs} * 2, qs,
                               i_first * group, nq, shape.scale, chunk_out, stride);
        continue;
      }
      // Gathered: quants [hd / 4][W][4], then scales [groups][W]; lanes past n_rows zero.
      std::memset(chunk, 0, static_cast<size_t>(kv_bytes(DType::kQ8_0, int64_t{hd} * W)));
      for (int r = 0; r < n_rows; ++r) {
        const uint8_t* t = kb + tiles[p0 + r];
        const int64_t j = in_block[p0 + r];
        for (int quad = 0; quad < hd / 4; ++quad) {
          std::memcpy(chunk + (int64_t{quad} * W + r) * 4, t + (quad * bs + j) * 4, 4);
        }
        for (int g = 0; g < groups; ++g) {
          std::memcpy(chunk + int64_t{hd} * W + (int64_t{g} * W + r) * 2,
                      t + scales_at + (g * bs + j) * 2, 2);
        }
      }
      q8_chunk_scores_all<S>(chunk, int64_t{W} * 4, chunk + int64_t{hd} * W, int64_t{W} * 2, qs,
                             i_first * group, nq, shape.scale, chunk_out, stride);
    }
    // The V scales by position (v_scales[g * stride + p]), a run of each group per block.
    for (int64_t first = 0; first < n_ctx_max; first += bs) {
      const int64_t n = std::min<int64_t>(bs, n_ctx_max - first);
      for (int g = 0; g < groups; ++g) {
        dequantize_f16<S>(vb + tiles[first] + scales_at + int64_t{g} * bs * 2,
                          v_scales + g * stride + first, n);
      }
    }
    for (int64_t p = 0; p < kValuesAhead && p < n_ctx_max; ++p) {
      prefetch_bytes<S>(vb + v_rows[p], hd);
    }
    for (int64_t i = 0; i < n_q; ++i) {
      const int64_t n_ctx = first_n_ctx + i;
      float* token_scores = scores + i * group * stride;
      for (int h = 0; h < group; ++h) {
        float* sh = token_scores + h * stride;
        softmax<S>(sh, n_ctx);
        for (int g = 0; g < groups; ++g) {
          float* dst = coef + (int64_t{h} * groups + g) * stride;
          const float* vs = v_scales + g * stride;
          int64_t p = 0;
          for (; p + W <= n_ctx; p += W)
            S::store(dst + p, S::mul(S::load(sh + p), S::load(vs + p)));
          for (; p < n_ctx; ++p) dst[p] = sh[p] * vs[p];
        }
      }
      attend_values_q8_group<S>(vb, v_rows, n_ctx, coef, stride, groups, group, hd,
                                out + i * out_stride + h0_off);
    }
  }
}

}  // namespace
}  // namespace tenbin::kernels::cpu
