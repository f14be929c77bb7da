// Paged causal attention over a BF16 KV cache (recipe: kernels/ops.h; layout:
// kernels/kv_layout.h), written once against a SIMD vocabulary S, for a span of consecutive
// tokens of one sequence. Every multiply is a bf16 pair product (S::bf16_pair_fma: vdpbf16ps on
// AVX-512, two fmas on AVX2), twice the multiply-adds per instruction of the f32 fmas the F16
// cache's kernels issue. Scores: the cache keeps a position's key elements in pairs, one
// position per lane, so a chunk of kW positions is one load per element pair, met by each
// query's bf16 pair. Weighted sum: V tiles keep element d of two consecutive positions in one
// lane, met by the two positions' bf16 probabilities. Each token's result is the reference
// recipe's operations, so it depends neither on the other tokens nor on where the blocks are.
// Included only by the per-ISA files (through attention_kernels.h), inside an anonymous
// namespace, so each ISA gets its own copy.
#pragma once

#include <algorithm>
#include <cmath>
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

// Scores of NQ queries (bf16 pairs, `pairs` per query, one query after another) against NC
// consecutive chunks of kW positions, lane j of chunk c for position c * kW + j: element pair m
// of chunk c's keys at keys[c] + m * pair_step (uint16 units), one accumulator per query and
// chunk in the recipe's order (several chunks give a decoding token's few queries enough
// independent chains to cover the pair product's latency).
template <class S, int NQ, int NC>
void bf16_chunk_scores(const uint16_t* const* keys, int64_t pair_step, const typename S::BfPair* qs,
                       int pairs, float scale, float* out, int64_t stride) {
  using V = typename S::V;
  V acc[NQ][NC];
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) acc[i][c] = S::zero();
  }
  for (int m = 0; m < pairs; ++m) {
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const auto k = S::load_bf16_pairs(keys[c] + m * pair_step);
#pragma GCC unroll 16
      for (int i = 0; i < NQ; ++i) acc[i][c] = S::bf16_pair_fma(acc[i][c], k, qs[i * pairs + m]);
    }
  }
  const V vs = S::set1(scale);
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) S::store(out + i * stride + c * S::kW, S::mul(acc[i][c], vs));
  }
}

// Accumulators per pass (queries times chunks): eight independent chains cover the latency of
// vdpbf16ps (and of AVX2's two fmas per pair); with the key vector and a partner they fit the
// registers of either ISA.
constexpr int kBf16Chains = 8;

// Chunks per pass for nq queries: kBf16Chains over nq rounded up to a power of two.
inline int bf16_chunks_per_pass(int64_t nq) {
  return nq >= 5 ? 1 : nq >= 3 ? 2 : nq == 2 ? 4 : 8;
}

template <class S, int NC, int... N>
void bf16_chunk_scores_tail(std::integer_sequence<int, N...>, int nq, const uint16_t* const* keys,
                            int64_t pair_step, const typename S::BfPair* qs, int pairs, float scale,
                            float* out, int64_t stride) {
  ((nq == N + 1 ? bf16_chunk_scores<S, N + 1, NC>(keys, pair_step, qs, pairs, scale, out, stride)
                : void()),
   ...);
}

// The scores of nq queries (from qs on) against nc consecutive chunks (nc = 1, or
// bf16_chunks_per_pass(nq) for nq < kBf16Chains), kBf16Chains queries at a time.
template <class S>
void bf16_chunk_scores_all(const uint16_t* const* keys, int nc, int64_t pair_step,
                           const typename S::BfPair* qs, int64_t nq, int pairs, float scale,
                           float* out, int64_t stride) {
  if (nc > 1) {
    auto run = [&](auto nc_c) {
      constexpr int kNc = decltype(nc_c)::value;
      bf16_chunk_scores_tail<S, kNc>(std::make_integer_sequence<int, kBf16Chains / kNc>{},
                                     static_cast<int>(nq), keys, pair_step, qs, pairs, scale, out,
                                     stride);
    };
    if (nc == 2) return run(std::integral_constant<int, 2>{});
    if (nc == 4) return run(std::integral_constant<int, 4>{});
    return run(std::integral_constant<int, 8>{});
  }
  int64_t i = 0;
  for (; i + kBf16Chains <= nq; i += kBf16Chains) {
    bf16_chunk_scores<S, kBf16Chains, 1>(keys, pair_step, qs + i * pairs, pairs, scale,
                                         out + i * stride, stride);
  }
  bf16_chunk_scores_tail<S, 1>(std::make_integer_sequence<int, kBf16Chains - 1>{},
                               static_cast<int>(nq - i), keys, pair_step, qs + i * pairs, pairs,
                               scale, out + i * stride, stride);
}

// One pair row (positions 2r, 2r + 1) of the weighted sum into the accumulators of nh <= H
// heads over a slice of NV vectors of the head; `last_alone`: position 2r + 1 is past the
// context, so its half of each lane is dropped (whatever the slot holds adds 0 * 0).
template <class S, int NV, int H>
[[gnu::always_inline]] inline void bf16_values_step(const uint16_t* row,
                                                    const typename S::BfPair* probs,
                                                    int64_t probs_stride, int nh, bool last_alone,
                                                    typename S::V (&acc)[H * NV]) {
  typename S::BfVec vr[NV];
#pragma GCC unroll 16
  for (int j = 0; j < NV; ++j) {
    vr[j] = S::load_bf16_pairs(row + j * S::kW * 2);
    if (last_alone) vr[j] = S::bf16_drop_odd(vr[j]);
  }
#pragma GCC unroll 16
  for (int h = 0; h < H; ++h) {
    if (h >= nh) break;
    const typename S::BfPair pp = probs[h * probs_stride];
#pragma GCC unroll 16
    for (int j = 0; j < NV; ++j) acc[h * NV + j] = S::bf16_pair_fma(acc[h * NV + j], vr[j], pp);
  }
}

// out[h][d0 .. d0 + NV * kW - 1] = sum over position pairs r of the pair products of heads
// h < nh <= H (probs: bf16 pairs of head h at probs + h * probs_stride, pair r at + r) with V's
// pair rows (pair_rows[r]: uint16 units from vb to the row of positions 2r, 2r + 1), in order,
// each output vector accumulated in a register.
template <class S, int NV, int H>
void attend_values_bf16(const uint16_t* vb, const int64_t* pair_rows, int64_t n_ctx,
                        const typename S::BfPair* probs, int64_t probs_stride, int d0, int nh,
                        float* out, int hd) {
  using V = typename S::V;
  V acc[H * NV];
#pragma GCC unroll 16
  for (int i = 0; i < H * NV; ++i) acc[i] = S::zero();
  constexpr int64_t kPairsAhead = kValuesAhead / 2;
  const int64_t n_pairs = n_ctx / 2;
  for (int64_t r = 0; r < n_pairs; ++r) {
    if (d0 == 0 && r + kPairsAhead < n_pairs) {
      prefetch_bytes<S>(reinterpret_cast<const uint8_t*>(vb + pair_rows[r + kPairsAhead]),
                        int64_t{hd} * 4);
    }
    bf16_values_step<S, NV, H>(vb + pair_rows[r] + d0 * 2, probs + r, probs_stride, nh, false, acc);
  }
  if (n_ctx % 2 != 0) {
    bf16_values_step<S, NV, H>(vb + pair_rows[n_pairs] + d0 * 2, probs + n_pairs, probs_stride, nh,
                               true, acc);
  }
  store_head_slices<S, NV, H>(acc, nh, out, hd, d0);
}

// The elements past the last whole vector of a head (head sizes that are not a multiple of
// kW), one at a time in the recipe's order.
template <class S>
void attend_values_bf16_tail(const uint16_t* vb, const int64_t* pair_rows, int64_t n_ctx,
                             const typename S::BfPair* probs, int64_t probs_stride, int d_first,
                             int group, float* out, int hd) {
  for (int h = 0; h < group; ++h) {
    const typename S::BfPair* ph = probs + h * probs_stride;
    for (int d = d_first; d < hd; ++d) {
      float acc = 0;
      for (int64_t r = 0; 2 * r < n_ctx; ++r) {
        const uint16_t* row = vb + pair_rows[r] + int64_t{d} * 2;
        float p_even, p_odd;
        S::bf16_pair_floats(ph[r], &p_even, &p_odd);
        const float v_odd = 2 * r + 1 < n_ctx ? bf16_to_f32(row[1]) : 0.0f;
        acc = std::fma(p_odd, v_odd, acc);
        acc = std::fma(p_even, bf16_to_f32(row[0]), acc);
      }
      out[int64_t{h} * hd + d] = acc;
    }
  }
}

// attend_values_bf16 over all `group` heads: passes of H heads (up to eight, as many as the
// group has) over slices of NV vectors, H * NV accumulators within the budget, so each V vector
// is loaded once per pass of heads.
template <class S>
void attend_values_bf16_group(const uint16_t* vb, const int64_t* pair_rows, int64_t n_ctx,
                              const typename S::BfPair* probs, int64_t probs_stride, int group,
                              int hd, float* out) {
  constexpr int kBudget = S::kW == 16 ? 16 : 8;  // accumulators: half the register file or so
  const int row_vecs = hd / S::kW;
  auto run = [&](auto h_c, auto nv_c) {
    constexpr int kH = decltype(h_c)::value, kNv = decltype(nv_c)::value;
    for (int h0 = 0; h0 < group; h0 += kH) {
      for (int d0 = 0; d0 + kNv * S::kW <= row_vecs * S::kW; d0 += kNv * S::kW) {
        attend_values_bf16<S, kNv, kH>(vb, pair_rows, n_ctx, probs + h0 * probs_stride,
                                       probs_stride, d0, std::min(kH, group - h0),
                                       out + int64_t{h0} * hd, hd);
      }
    }
  };
  // Heads per pass: the group rounded up to a power of two, at most eight; vectors per slice:
  // the most that fit the budget beside them and divide the row, the V vectors (two registers
  // each on AVX2) and a broadcast partner still in the registers with the accumulators.
  const int h_pass = group > 4 ? 8 : group > 2 ? 4 : group;
  constexpr int kRegs = S::kW == 16 ? 32 : 16;
  constexpr int kRegsPerVec = sizeof(typename S::BfVec) / sizeof(typename S::V);
  int nv = std::min({8, kBudget / h_pass, (kRegs - 2) / (h_pass + kRegsPerVec)});
  while (nv > 1 && row_vecs % nv != 0) nv /= 2;
  auto with_h = [&](auto h_c) {
    constexpr int kH = decltype(h_c)::value;
    switch (nv) {
      case 1:
        return run(h_c, std::integral_constant<int, 1>{});
      case 2:
        if constexpr (2 * kH <= kBudget) return run(h_c, std::integral_constant<int, 2>{});
        break;
      case 4:
        if constexpr (4 * kH <= kBudget) return run(h_c, std::integral_constant<int, 4>{});
        break;
      case 8:
        if constexpr (8 * kH <= kBudget) return run(h_c, std::integral_constant<int, 8>{});
        break;
      default:
        break;
    }
    run(h_c, std::integral_constant<int, 1>{});
  };
  if (row_vecs > 0) {
    switch (h_pass) {
      case 1:
        with_h(std::integral_constant<int, 1>{});
        break;
      case 2:
        with_h(std::integral_constant<int, 2>{});
        break;
      case 4:
        with_h(std::integral_constant<int, 4>{});
        break;
      default:
        with_h(std::integral_constant<int, 8>{});
        break;
    }
  }
  if (row_vecs * S::kW < hd) {
    attend_values_bf16_tail<S>(vb, pair_rows, n_ctx, probs, probs_stride, row_vecs * S::kW, group,
                               out, hd);
  }
}

// Per kv head: the group's queries of every token rounded to bf16 pairs; per chunk of kW
// positions, the keys dotted with every query whose context reaches into it (read in place
// when the chunk is one run inside a block, else gathered into a chunk of the same layout);
// then per token the softmax over its own context, the probabilities rounded to bf16 pairs,
// and the weighted sum over V's pair rows in position order.
template <class S>
void attention_span_bf16(const float* q, int64_t q_stride, int64_t n_q, const KvView& kv,
                         int64_t first_n_ctx, const AttentionShape& shape, float* out,
                         int64_t out_stride) {
  using BfPair = typename S::BfPair;
  constexpr int W = S::kW;
  const int group = shape.n_heads / shape.n_kv_heads;
  const int hd = shape.head_dim, pairs = hd / 2;
  const int64_t group_width = static_cast<int64_t>(group) * hd;
  const int64_t n_ctx_max = first_n_ctx + n_q - 1;
  const int64_t n_chunks = (n_ctx_max + W - 1) / W;
  const int64_t stride = n_chunks * W;  // between score rows (even: W is)
  const int64_t n_queries = n_q * group;
  const int bs = kv.block_size;
  struct TilesTag;
  struct InBlockTag;
  struct PairRowsTag;
  struct ScoresTag;
  struct QPairsTag;
  struct ProbsTag;
  struct ChunkTag;
  const auto n_pos = static_cast<size_t>(n_ctx_max);
  int64_t* tiles = thread_scratch<int64_t, TilesTag>(n_pos);  // uint16 units to kv head 0's tile
  int32_t* in_block = thread_scratch<int32_t, InBlockTag>(n_pos);
  int64_t* pair_rows = thread_scratch<int64_t, PairRowsTag>(n_pos / 2 + 1);
  float* scores = thread_scratch<float, ScoresTag>(static_cast<size_t>(n_queries * stride));
  BfPair* qp = thread_scratch<BfPair, QPairsTag>(static_cast<size_t>(n_queries * pairs));
  BfPair* probs = thread_scratch<BfPair, ProbsTag>(static_cast<size_t>(group * stride / 2));
  uint16_t* chunk = thread_scratch<uint16_t, ChunkTag>(static_cast<size_t>(hd * W));
  for (int64_t first = 0; first < n_ctx_max; first += bs) {
    const int64_t tile = kv_tile_element(kv.block_table[first / bs], kv.row_stride, hd, 0, bs);
    for (int64_t j = 0; j < std::min<int64_t>(bs, n_ctx_max - first); ++j) {
      tiles[first + j] = tile;
      in_block[first + j] = static_cast<int32_t>(j);
      if (j % 2 == 0) pair_rows[(first + j) / 2] = tile + j / 2 * hd * 2;
    }
  }
  const int64_t tile_bytes = int64_t{hd} * bs * 2;
  for (int kvh = 0; kvh < shape.n_kv_heads; ++kvh) {
    const int64_t h0_off = static_cast<int64_t>(kvh) * group_width;
    const int64_t kv_off = kv_head_offset(KvLayout::kHeadBlocks, bs, hd, kvh);
    const uint16_t* kb = static_cast<const uint16_t*>(kv.k) + kv_off;
    const uint16_t* vb = static_cast<const uint16_t*>(kv.v) + kv_off;
    for (int64_t i = 0; i < n_q; ++i) {
      for (int h = 0; h < group; ++h) {
        S::round_bf16_pairs(q + i * q_stride + h0_off + int64_t{h} * hd, hd,
                            qp + (i * group + h) * pairs);
      }
    }
    for (int64_t p = 0; p < kKeyBlocksAhead * bs && p < n_ctx_max; p += bs) {
      prefetch_bytes<S>(reinterpret_cast<const uint8_t*>(kb + tiles[p]), tile_bytes);
    }
    auto whole_chunk = [&](int64_t c) {  // kW positions in one run inside a block
      const int64_t p0 = c * W;
      return p0 + W <= n_ctx_max && tiles[p0 + W - 1] == tiles[p0] &&
             in_block[p0 + W - 1] == in_block[p0] + W - 1;
    };
    for (int64_t c = 0; c < n_chunks;) {
      const int64_t p0 = c * W;
      // Tokens whose context reaches into this chunk: first_n_ctx + i > p0.
      const int64_t i_first = std::max<int64_t>(0, p0 - first_n_ctx + 1);
      const int64_t nq = (n_q - i_first) * group;
      const BfPair* chunk_qs = qp + i_first * group * pairs;
      float* chunk_out = scores + i_first * group * stride + p0;
      const uint16_t* keys[8];  // element 0 of each chunk of this pass
      int nc = 0;
      int64_t pair_step = int64_t{bs} * 2;
      if (whole_chunk(c)) {
        // A run of whole chunks that every one of these queries reaches, for few queries.
        const int want = nq < kBf16Chains ? bf16_chunks_per_pass(nq) : 1;
        while (nc < want && c + nc < n_chunks && whole_chunk(c + nc) &&
               (nc == 0 || (c + nc) * W < first_n_ctx)) {  // the same queries: i_first 0
          const int64_t p = (c + nc) * W;
          keys[nc++] = kb + tiles[p] + in_block[p] * 2;
        }
        if (nc != want) nc = 1;
      } else {
        // Gathered: pairs [hd / 2][W][2]; lanes past the context zero.
        const int n_rows = static_cast<int>(std::min<int64_t>(W, n_ctx_max - p0));
        std::memset(chunk, 0, static_cast<size_t>(hd * W) * 2);
        for (int r = 0; r < n_rows; ++r) {
          const uint16_t* t = kb + tiles[p0 + r];
          const int64_t j = in_block[p0 + r];
          for (int m = 0; m < pairs; ++m) {
            std::memcpy(chunk + (int64_t{m} * W + r) * 2, t + (m * bs + j) * 2, 4);
          }
        }
        keys[nc++] = chunk;
        pair_step = int64_t{W} * 2;
      }
      for (int k = 0; k < nc; ++k) {  // the key tiles a few blocks on
        const int64_t p = (c + k) * W;
        if (p % bs == 0 && p + kKeyBlocksAhead * bs < n_ctx_max) {
          prefetch_bytes<S>(reinterpret_cast<const uint8_t*>(kb + tiles[p + kKeyBlocksAhead * bs]),
                            tile_bytes);
        }
      }
      bf16_chunk_scores_all<S>(keys, nc, pair_step, chunk_qs, nq, pairs, shape.scale, chunk_out,
                               stride);
      c += nc;
    }
    for (int64_t r = 0; r < kValuesAhead / 2 && 2 * r < n_ctx_max; ++r) {
      prefetch_bytes<S>(reinterpret_cast<const uint8_t*>(vb + pair_rows[r]), int64_t{hd} * 4);
    }
    for (int64_t i = 0; i < n_q; ++i) {
      const int64_t n_ctx = first_n_ctx + i;
      const int64_t n_even = (n_ctx + 1) / 2 * 2;  // the context and an odd one's partner
      float* token_scores = scores + i * group * stride;
      for (int h = 0; h < group; ++h) {
        float* sh = token_scores + h * stride;
        softmax<S>(sh, n_ctx);
        if (n_even > n_ctx) sh[n_ctx] = 0;
        S::round_bf16_pairs(sh, n_even, probs + h * stride / 2);
      }
      attend_values_bf16_group<S>(vb, pair_rows, n_ctx, probs, stride / 2, group, hd,
                                  out + i * out_stride + h0_off);
    }
  }
}

}  // namespace
}  // namespace tenbin::kernels::cpu
