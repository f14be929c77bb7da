// Paged causal attention (recipe: kernels/ops.h) written once against a SIMD vocabulary S, for
// a span of consecutive tokens of one sequence, over a kHeadBlocks cache (kernels/kv_layout.h).
// Scores come kW positions at a time from the keys as f32 vectors with one position per lane
// (the cache keeps K tiles transposed, so that is one load per head element: read in place for
// a decoding token's few queries, widened once for a prefill span's many): each lane adds in the
// row dot's order (block_scores), and every query of the span (all heads of a KV group, all
// tokens) reads the chunk, four queries per pass. The weighted sum over V keeps several heads'
// outputs in registers. Included only by the per-ISA files, inside an anonymous
// namespace, so each ISA gets its own copy.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/cpu/attention_bf16_kernels.h"
#include "kernels/cpu/attention_common.h"
#include "kernels/cpu/attention_prefetch.h"
#include "kernels/cpu/attention_q8_kernels.h"
#include "kernels/cpu/float_kernels.h"
#include "kernels/ops.h"
#include "kernels/scratch.h"

namespace tenbin::kernels::cpu {
namespace {

// out[g] = sum_p probs[g][p] * V[p] for the nh heads g of one pass, positions in order, each
// output vector accumulated in a register from zero by one fma per position (the same
// operations as accumulating in memory, so the same bits). NVEC vectors per head.
template <class S, Elem E, int NVEC, int H>
void attend_values(const uint8_t* vb, const int64_t* rows, int64_t kv_off, int64_t n_ctx,
                   const float* probs, int64_t probs_stride, int nh, float* out, int hd) {
  using V = typename S::V;
  V acc[H * NVEC];
#pragma GCC unroll 16
  for (int i = 0; i < H * NVEC; ++i) acc[i] = S::zero();
  constexpr int64_t kRowBytes = NVEC * S::kW * (E == Elem::kF32 ? 4 : 2);
  for (int64_t p = 0; p < n_ctx; ++p) {
    const uint8_t* vrow = vb + rows[p] + kv_off;
    if (p + kValuesAhead < n_ctx)
      prefetch_bytes<S>(vb + rows[p + kValuesAhead] + kv_off, kRowBytes);
    V vr[NVEC];
#pragma GCC unroll 16
    for (int j = 0; j < NVEC; ++j) vr[j] = load_elems<S, E>(vrow, j * S::kW);
#pragma GCC unroll 16
    for (int h = 0; h < H; ++h) {
      if (h >= nh) break;
      const V vs = S::set1(probs[h * probs_stride + p]);
#pragma GCC unroll 16
      for (int j = 0; j < NVEC; ++j) acc[h * NVEC + j] = S::fmadd(vs, vr[j], acc[h * NVEC + j]);
    }
  }
  store_head_slices<S, NVEC, H>(acc, nh, out, hd, 0);
}

// The same sums for any head size, accumulated in memory (one widened V row at a time).
template <class S, Elem E>
void attend_values_any(const uint8_t* vb, const int64_t* rows, int64_t kv_off, int64_t n_ctx,
                       const float* probs, int64_t probs_stride, int group, int hd, float* out,
                       float* row_f32) {
  using V = typename S::V;
  std::fill(out, out + static_cast<int64_t>(group) * hd, 0.0f);
  for (int64_t p = 0; p < n_ctx; ++p) {
    const uint8_t* vrow = vb + rows[p] + kv_off;
    int d = 0;
    for (; d + S::kW <= hd; d += S::kW) S::store(row_f32 + d, load_elems<S, E>(vrow, d));
    for (; d < hd; ++d) row_f32[d] = elem_at<E>(vrow, d);
    for (int g = 0; g < group; ++g) {
      const float s = probs[g * probs_stride + p];
      float* oh = out + static_cast<int64_t>(g) * hd;
      const V vs = S::set1(s);
      int e = 0;
      for (; e + S::kW <= hd; e += S::kW) {
        S::store(oh + e, S::fmadd(vs, S::load(row_f32 + e), S::load(oh + e)));
      }
      for (; e < hd; ++e) oh[e] += s * row_f32[e];
    }
  }
}

// attend_values over all `group` heads, H heads per pass (H * NVEC accumulators fit in the
// vector registers), or attend_values_any for head sizes without a register-blocked kernel.
template <class S, Elem E>
void attend_values_group(const uint8_t* vb, const int64_t* rows, int64_t kv_off, int64_t n_ctx,
                         const float* probs, int64_t probs_stride, int group, int hd, float* out,
                         float* row_f32) {
  constexpr int kBudget = S::kW == 16 ? 16 : 8;  // accumulators: half the register file or so
  auto run = [&](auto nvec_c) {
    constexpr int kNvec = decltype(nvec_c)::value;
    constexpr int kH = kBudget / kNvec > 0 ? kBudget / kNvec : 1;
    for (int g0 = 0; g0 < group; g0 += kH) {
      attend_values<S, E, kNvec, kH>(vb, rows, kv_off, n_ctx, probs + g0 * probs_stride,
                                     probs_stride, std::min(kH, group - g0), out + g0 * hd, hd);
    }
  };
  switch (hd % S::kW == 0 ? hd / S::kW : 0) {
    case 2:
      return run(std::integral_constant<int, 2>{});
    case 4:
      return run(std::integral_constant<int, 4>{});
    case 8:
      return run(std::integral_constant<int, 8>{});
    case 16:
      return run(std::integral_constant<int, 16>{});
    default:
      return attend_values_any<S, E>(vb, rows, kv_off, n_ctx, probs, probs_stride, group, hd, out,
                                     row_f32);
  }
}

// kt[d * kW + j] = element d of the key of position p0 + j, widened to f32, for the n_rows
// (<= kW) positions of one chunk; lanes past n_rows are zero. k_pos[p]: bytes from kb to
// element 0 of position p's key; element d is d * block_size elements on (transposed tiles).
// A whole chunk (kW positions inside one block) is one contiguous load per element; otherwise
// lane by lane.
template <class S, Elem E>
void widen_k_chunk(const uint8_t* kb, const int64_t* k_pos, int64_t p0, int n_rows, bool whole,
                   int hd, int block_size, float* kt) {
  constexpr int W = S::kW;
  if (whole) {
    const uint8_t* first = kb + k_pos[p0];
    for (int d = 0; d < hd; ++d) {
      S::store(kt + d * W, load_elems<S, E>(first, int64_t{d} * block_size));
    }
    return;
  }
  for (int d = 0; d < hd; ++d) {
    for (int j = 0; j < W; ++j) {
      kt[d * W + j] = j < n_rows ? elem_at<E>(kb + k_pos[p0 + j], int64_t{d} * block_size) : 0.0f;
    }
  }
}

// Scores are (q_i . K[p0 + j]) * scale for NQ queries (rows of qs, hd apart) against one chunk
// of kW positions, lane j for position p0 + j. Lane j adds exactly as the row dot of one query
// and one K row would: element d goes to accumulator (d / kW) % 2 of its lane l = d % kW by fma
// in order from zero, the two are added, the kW lane sums are combined by S::hsum's tree (halves
// of the lanes while more than four remain, then (x0 + x2) + (x1 + x3)), a head-size tail is
// added element by element, then the scale. So the scores are bitwise those of a dot per
// position, and a score depends neither on the other queries nor on the block. The helpers are
// forced inline: GCC otherwise outlined them and kept the accumulators in memory (1.6x slower).
//
// Keys: element d of the chunk's kW positions as f32, keys(d). For up to kInPlaceQueries
// queries a full chunk inside one block is read in place from its transposed cache tile
// (TileKeys: one converting load per element and pass); otherwise the chunk is widened once
// (WidenedKeys). A decoding token's KV group, one kv head, 1,024 positions, one core, AVX-512:
// widened first, group 1 of 128 16 us and group 8 of 64 25 us; in place 11.6 and 23.6 us. A
// prefill span of 8 tokens x 8 heads (64 queries) is 5% faster widened.
template <class S>
struct WidenedKeys {
  const float* kt;  // widen_k_chunk's output
  [[gnu::always_inline]] typename S::V operator()(int d) const { return S::load(kt + d * S::kW); }
};
template <class S, Elem E>
struct TileKeys {
  const uint8_t* first;  // element 0 of the chunk's first position
  int64_t block_size;    // elements between a position's element d and d + 1
  [[gnu::always_inline]] typename S::V operator()(int d) const {
    return load_elems<S, E>(first, d * block_size);
  }
};

// One chunk of head elements into lane l's accumulators: element d = c * kW + l to acc[i][Odd],
// element d + kW / 2 to acc[i][2 + Odd].
template <class S, int NQ, int Odd, class Keys>
[[gnu::always_inline]] inline void fma_chunk(const Keys& keys, const float* qs, int hd, int d,
                                             typename S::V (&acc)[NQ][4]) {
  using V = typename S::V;
  constexpr int kHalf = S::kW / 2;
  const V ka = keys(d), kb = keys(d + kHalf);
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) {
    acc[i][Odd] = S::fmadd(ka, S::set1(qs[i * hd + d]), acc[i][Odd]);
    acc[i][2 + Odd] = S::fmadd(kb, S::set1(qs[i * hd + d + kHalf]), acc[i][2 + Odd]);
  }
}

// First level of that tree for lane l < kW / 2 of every query: (lane l) + (lane l + kW / 2).
template <class S, int NQ, class Keys>
[[gnu::always_inline]] inline void first_level_sums(const Keys& keys, const float* qs, int hd,
                                                    int l, typename S::V (&sums)[NQ]) {
  using V = typename S::V;
  constexpr int W = S::kW;
  const int n_chunks = hd / W;
  V acc[NQ][4];  // lane l even/odd chunks, lane l + kHalf even/odd chunks
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = S::zero();
  int c = 0;
  for (; c + 2 <= n_chunks; c += 2) {
    fma_chunk<S, NQ, 0>(keys, qs, hd, c * W + l, acc);
    fma_chunk<S, NQ, 1>(keys, qs, hd, (c + 1) * W + l, acc);
  }
  if (c < n_chunks) fma_chunk<S, NQ, 0>(keys, qs, hd, c * W + l, acc);
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) {
    sums[i] = S::add(S::add(acc[i][0], acc[i][1]), S::add(acc[i][2], acc[i][3]));
  }
}

// x_l of the tree for every query: lane sums l and l + 4 with 16 lanes, lane sum l with 8.
template <class S, int NQ, class Keys>
[[gnu::always_inline]] inline void tree_x(const Keys& keys, const float* qs, int hd, int l,
                                          typename S::V (&x)[NQ]) {
  constexpr int kHalf = S::kW / 2;
  static_assert(kHalf == 4 || kHalf == 8, "the tree order below is that of 8 or 16 lanes");
  first_level_sums<S, NQ>(keys, qs, hd, l, x);
  if constexpr (kHalf == 8) {
    typename S::V hi[NQ];
    first_level_sums<S, NQ>(keys, qs, hd, l + 4, hi);
#pragma GCC unroll 16
    for (int i = 0; i < NQ; ++i) x[i] = S::add(x[i], hi[i]);
  }
}

// The tree is walked in the order of its last steps, x0 and x2, then x1 and x3, so only two
// partial sums per query stay live and nothing goes through memory (the lane-by-lane order it
// replaced kept eight lane sums per query in memory: TinyLlama's decode attention, 32/4 heads of
// 64, 2,048 positions, one core, 0.22-0.28 -> 0.20 ms on AVX-512, 0.38-0.48 -> 0.35 ms on AVX2).
template <class S, int NQ, class Keys>
void block_scores(const Keys& keys, const float* qs, int hd, float scale, float* scores,
                  int64_t stride) {
  using V = typename S::V;
  V x02[NQ], x1[NQ], x3[NQ];
  tree_x<S, NQ>(keys, qs, hd, 0, x02);
  tree_x<S, NQ>(keys, qs, hd, 2, x3);  // x2 for now
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) x02[i] = S::add(x02[i], x3[i]);
  tree_x<S, NQ>(keys, qs, hd, 1, x1);
  tree_x<S, NQ>(keys, qs, hd, 3, x3);
  const V vs = S::set1(scale);
#pragma GCC unroll 16
  for (int i = 0; i < NQ; ++i) {
    V total = S::add(x02[i], S::add(x1[i], x3[i]));
    for (int d = hd / S::kW * S::kW; d < hd; ++d) {  // the head-size tail
      total = S::add(total, S::mul(keys(d), S::set1(qs[i * hd + d])));
    }
    S::store(scores + i * stride, S::mul(total, vs));
  }
}

// Queries per pass: four accumulators each, plus two K vectors, in the registers (with 16 AVX2
// registers some spill; on Zen 4 four still measured fastest, 3 and 2 at most as fast).
constexpr int kScoreQueries = 4;
// Queries of a chunk up to which its keys are read in place (four passes).
constexpr int64_t kInPlaceQueries = 16;

template <class S, class Keys, int... N>
void block_scores_tail(std::integer_sequence<int, N...>, int nq, const Keys& keys, const float* qs,
                       int hd, float scale, float* scores, int64_t stride) {
  ((nq == N + 1 ? block_scores<S, N + 1>(keys, qs, hd, scale, scores, stride) : void()), ...);
}

// The scores of nq queries against one chunk, kScoreQueries at a time.
template <class S, class Keys>
void block_scores_all(const Keys& keys, const float* qs, int64_t nq, int hd, float scale,
                      float* scores, int64_t stride) {
  int64_t i = 0;
  for (; i + kScoreQueries <= nq; i += kScoreQueries) {
    block_scores<S, kScoreQueries>(keys, qs + i * hd, hd, scale, scores + i * stride, stride);
  }
  block_scores_tail<S>(std::make_integer_sequence<int, kScoreQueries - 1>{},
                       static_cast<int>(nq - i), keys, qs + i * hd, hd, scale, scores + i * stride,
                       stride);
}

// With an F16 cache, the queries are rounded to f16 for the K dots and the probabilities before
// the weighted sum over V (ops.h); with F32, plain f32 throughout. Per KV head: the group's
// queries of every token, token-major; then per chunk of kW positions, the widened keys dotted
// with every query whose context reaches into it; then per token, softmax over its own context
// and the weighted sum over V in position order.
template <class S, Elem E>
void attention_span_typed(const float* q, int64_t q_stride, int64_t n_q, const KvView& kv,
                          int64_t first_n_ctx, const AttentionShape& shape, float* out,
                          int64_t out_stride) {
  constexpr int W = S::kW;
  constexpr int64_t kElemBytes = E == Elem::kF32 ? 4 : 2;
  const int group = shape.n_heads / shape.n_kv_heads;
  const int hd = shape.head_dim;
  const int64_t group_width = static_cast<int64_t>(group) * hd;
  const int64_t n_ctx_max = first_n_ctx + n_q - 1;
  const int64_t n_blocks = (n_ctx_max + W - 1) / W;
  const int64_t stride = n_blocks * W;  // between score rows
  const int64_t n_queries = n_q * group;
  struct RowsTag;
  struct ScoresTag;
  struct QueriesTag;
  struct BlockTag;
  struct KeysTag;
  int64_t* rows = thread_scratch<int64_t, RowsTag>(static_cast<size_t>(n_ctx_max));
  int64_t* k_pos = thread_scratch<int64_t, KeysTag>(static_cast<size_t>(n_ctx_max));
  float* scores = thread_scratch<float, ScoresTag>(static_cast<size_t>(n_queries * stride));
  float* qs = thread_scratch<float, QueriesTag>(static_cast<size_t>(n_queries * hd));
  float* kt = thread_scratch<float, BlockTag>(static_cast<size_t>(std::max(hd * W, hd)));
  const auto* kb = static_cast<const uint8_t*>(kv.k);
  const auto* vb = static_cast<const uint8_t*>(kv.v);
  // Bytes to each position's V row and to element 0 of its key, in kv head 0's tiles: the
  // block's tile start, then j rows (V) or j elements (K, transposed) on.
  const int bs = kv.block_size;
  for (int64_t first = 0; first < n_ctx_max; first += bs) {
    const int64_t slot0 = static_cast<int64_t>(kv.block_table[first / bs]) * bs;
    const int64_t n = std::min<int64_t>(bs, n_ctx_max - first);
    const int64_t v0 =
        kv_element_index(KvLayout::kHeadBlocks, false, slot0, bs, kv.row_stride, hd, 0, 0);
    const int64_t k0 =
        kv_element_index(KvLayout::kHeadBlocks, true, slot0, bs, kv.row_stride, hd, 0, 0);
    for (int64_t j = 0; j < n; ++j) {
      rows[first + j] = (v0 + j * hd) * kElemBytes;
      k_pos[first + j] = (k0 + j) * kElemBytes;
    }
  }
  for (int kvh = 0; kvh < shape.n_kv_heads; ++kvh) {
    const int64_t h0_off = static_cast<int64_t>(kvh) * group_width;
    for (int64_t i = 0; i < n_q; ++i) {
      const float* src = q + i * q_stride + h0_off;
      float* dst = qs + i * group_width;
      if constexpr (E == Elem::kF16) {
        round_to_f16<S>(src, dst, group_width);
      } else {
        std::copy(src, src + group_width, dst);
      }
    }
    const int64_t kv_off = kv_head_offset(KvLayout::kHeadBlocks, bs, hd, kvh) * kElemBytes;
    const int64_t key_block_bytes = int64_t{hd} * bs * kElemBytes;
    for (int64_t p = 0; p < kKeyBlocksAhead * bs && p < n_ctx_max; p += bs) {
      prefetch_bytes<S>(kb + kv_off + k_pos[p], key_block_bytes);
    }
    for (int64_t b = 0; b < n_blocks; ++b) {
      const int64_t p0 = b * W;
      const int n_rows = static_cast<int>(std::min<int64_t>(W, n_ctx_max - p0));
      // Tokens whose context reaches into this block: first_n_ctx + i > p0.
      const int64_t i_first = std::max<int64_t>(0, p0 - first_n_ctx + 1);
      const int64_t nq = (n_q - i_first) * group;
      const float* block_qs = qs + i_first * group_width;
      float* block_out = scores + i_first * group * stride + p0;
      if (p0 % bs == 0 && p0 + kKeyBlocksAhead * bs < n_ctx_max) {
        prefetch_bytes<S>(kb + kv_off + k_pos[p0 + kKeyBlocksAhead * bs], key_block_bytes);
      }
      const bool whole = n_rows == W && k_pos[p0 + W - 1] == k_pos[p0] + (W - 1) * kElemBytes;
      if (whole && nq <= kInPlaceQueries) {
        block_scores_all<S>(TileKeys<S, E>{kb + kv_off + k_pos[p0], bs}, block_qs, nq, hd,
                            shape.scale, block_out, stride);
      } else {
        widen_k_chunk<S, E>(kb + kv_off, k_pos, p0, n_rows, whole, hd, bs, kt);
        block_scores_all<S>(WidenedKeys<S>{kt}, block_qs, nq, hd, shape.scale, block_out, stride);
      }
    }
    // The first values, while the softmax runs (attend_values asks for the rest as it goes).
    for (int64_t p = 0; p < kValuesAhead && p < n_ctx_max; ++p) {
      prefetch_bytes<S>(vb + rows[p] + kv_off, int64_t{hd} * kElemBytes);
    }
    for (int64_t i = 0; i < n_q; ++i) {
      const int64_t n_ctx = first_n_ctx + i;
      float* token_scores = scores + i * group * stride;
      for (int g = 0; g < group; ++g) {
        float* sg = token_scores + g * stride;
        softmax<S>(sg, n_ctx);
        if constexpr (E == Elem::kF16) round_to_f16<S>(sg, sg, n_ctx);
      }
      // kt is free again: it holds one widened V row for head sizes without a blocked kernel.
      attend_values_group<S, E>(vb, rows, kv_off, n_ctx, token_scores, stride, group, hd,
                                out + i * out_stride + h0_off, kt);
    }
  }
}

template <class S>
void attention_span(const float* q, int64_t q_stride, int64_t n_q, const KvView& kv,
                    int64_t first_n_ctx, const AttentionShape& shape, float* out,
                    int64_t out_stride) {
  if (n_q <= 0) return;
  if (kv.layout != KvLayout::kHeadBlocks) {
    return ref::attention_span(q, q_stride, n_q, kv, first_n_ctx, shape, out, out_stride);
  }
  if (kv.type == DType::kBF16) {
    return attention_span_bf16<S>(q, q_stride, n_q, kv, first_n_ctx, shape, out, out_stride);
  }
  if (kv.type == DType::kQ8_0) {
    return attention_span_q8<S>(q, q_stride, n_q, kv, first_n_ctx, shape, out, out_stride);
  }
  if (kv.type == DType::kF16) {
    return attention_span_typed<S, Elem::kF16>(q, q_stride, n_q, kv, first_n_ctx, shape, out,
                                               out_stride);
  }
  attention_span_typed<S, Elem::kF32>(q, q_stride, n_q, kv, first_n_ctx, shape, out, out_stride);
}

template <class S>
void attention(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
               float* out) {
  attention_span<S>(q, 0, 1, kv, n_ctx, shape, out, 0);
}

}  // namespace
}  // namespace tenbin::kernels::cpu
