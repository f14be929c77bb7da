// AVX-512 matmul over 16-row packed weights (kernels/packed_layout.h): one 32-bit lane per
// weight row, up to kTokenTile tokens per pass so each loaded weight vector is reused from
// registers. Q4_0/Q8_0: dpbusd on four columns at a time, per block an exact integer dot,
// then acc = fma(d_w * d_a, float(dot), acc) in block order. F16: activations rounded to f16,
// even columns summed by fma into one accumulator and odd columns into another, added last.
// Q4_1/Q5_1: the reference's lane order (offset_tile). BF16: vdpbf16ps per column pair. The
// K formats' tiles live in packed_kquants_avx512.h; the drivers for all are here.
// Every output is computed by the same sequence of operations whatever n_tokens and the
// token's place in its tile, so results are batch invariant and a decode step matches the
// prefill of the same token.
// Include only from cpu_avx512.cc (compiled with the AVX-512 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/act_quant_avx512.h"
#include "kernels/cpu/cpu_tables.h"
#include "kernels/cpu/packed_avx512_common.h"
#include "kernels/cpu/packed_kquants_avx512.h"
#include "kernels/cpu/packed_tiling.h"
#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"
#include "kernels/ref/ref_ops.h"
#include "kernels/scratch.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::cpu {
namespace {

constexpr int kTokenTile = 8;

// The eight weight vectors of one packed Q4_0/Q4_1/Q5_0/Q5_1 group block from its nibble
// chunks q[0..3] (and the fifth-bit chunk q[4]): w[j] holds columns 4j..4j+3 as u8 levels.
template <DType T>
inline void nibble_weights(const __m512i* q, __m512i* w) {
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  if constexpr (T == DType::kQ5_0 || T == DType::kQ5_1) {
    // Fifth bits: bit 2c (low nibbles of chunk c) and 2c+1 (high nibbles) moved to bit 4.
    const __m512i high = _mm512_loadu_si512(q + 4), bit4 = _mm512_set1_epi8(0x10);
    constexpr int kNibbleOrHigh = 0xEC;  // (A & C) | B
#pragma GCC unroll 8
    for (int c = 0; c < 4; ++c) {
      const __m512i raw = _mm512_loadu_si512(q + c);
      const __m512i lo_bit = _mm512_and_si512(
          c <= 2 ? _mm512_slli_epi16(high, 4 - 2 * c) : _mm512_srli_epi16(high, 2 * c - 4), bit4);
      const __m512i hi_bit = _mm512_and_si512(
          c <= 1 ? _mm512_slli_epi16(high, 3 - 2 * c) : _mm512_srli_epi16(high, 2 * c - 3), bit4);
      w[c] = _mm512_ternarylogic_epi32(raw, lo_bit, m4, kNibbleOrHigh);
      w[c + 4] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(raw, 4), hi_bit, m4, kNibbleOrHigh);
    }
  } else {
#pragma GCC unroll 8
    for (int c = 0; c < 4; ++c) {
      const __m512i raw = _mm512_loadu_si512(q + c);
      w[c] = _mm512_and_si512(raw, m4);
      w[c + 4] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
    }
  }
}

// The 16-lane integer dots of one packed block with NT activation blocks, folded into acc.
template <DType T, int NT>
void packed_tile(const uint8_t* group, int64_t nb, const BlockQ8_0* const* act,
                 const ActBlockInfo* const* info, float* const* out) {
  constexpr int64_t kBlockBytes = T == DType::kQ4_0   ? 16 * 18
                                  : T == DType::kQ5_0 ? 16 * 22
                                                      : 16 * 34;
  __m512 acc[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    // Decode of Q4_0: the bytes 4 KiB on into L2 (TinyLlama tg32, 1 thread, three interleaved
    // rounds: 2 KiB +7% over none; tg64, four rounds: 4 KiB +5% over 2 KiB, 8 KiB the same as
    // 4). For Q8_0 any distance measured slower (4 KiB: -4%), so it is left to the hardware.
    if constexpr (NT == 1 && T == DType::kQ4_0) prefetch_ahead<kBlockBytes, 4096>(blk);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    const auto* q = reinterpret_cast<const __m512i*>(blk + 32);
    __m512i w[8];  // w[j] multiplies activation columns 4j..4j+3
    if constexpr (T == DType::kQ8_0) {
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) w[j] = _mm512_loadu_si512(q + j);
    } else {
      nibble_weights<T>(q, w);
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const int8_t* a = act[t][b].qs;
      // Two dependency chains per token (integer adds are exact, so the split is free); the
      // tokens of the tile give the core enough independent chains.
      __m512i s0 = _mm512_set1_epi32(info[t][b].bias);
      __m512i s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int j = 0; j < 8; j += 2) {
        s0 = dpbusd_bcast(s0, w[j], a + 4 * j);
        s1 = dpbusd_bcast(s1, w[j + 1], a + 4 * j + 4);
      }
      const __m512i s = _mm512_add_epi32(s0, s1);
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(info[t][b].d));
      acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], acc[t]);
}

template <DType T>
void packed16_matmul_typed(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                           ThreadPool& pool) {
  const int64_t nb = w.cols / kQK;
  const PackedQ8Activations q8 =
      quantize_packed_q8_0(avx512_table().quantize_act[static_cast<size_t>(DType::kQ8_0)], x,
                           n_tokens, w.cols, packed16_weight_bias(T), pool);
  const BlockQ8_0* act = q8.blocks;
  const ActBlockInfo* info = q8.info;
  const int64_t n_groups = w.rows / kPackRows;
  const int64_t group_bytes = nb * packed16_block_bytes(T);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for_each_group_tile<kTokenTile>(n_groups, n_tokens, pool, [&](int64_t g, int64_t t0, int nt) {
    const BlockQ8_0* act_rows[kTokenTile];
    const ActBlockInfo* info_rows[kTokenTile];
    float* out_rows[kTokenTile];
    for (int i = 0; i < nt; ++i) {
      act_rows[i] = act + (t0 + i) * nb;
      info_rows[i] = info + (t0 + i) * nb;
      out_rows[i] = y + (t0 + i) * w.rows + g * kPackRows;
    }
    with_tile_size<kTokenTile>(nt, [&](auto n) {
      packed_tile<T, decltype(n)::value>(base + g * group_bytes, nb, act_rows, info_rows, out_rows);
    });
  });
}

// Q4_1 and Q5_1 against Q8_1 activations, in the reference's order (ref dot_offset): per block
// and row, column quad k's exact dot accumulates as acc_k = fma(dot_k, d * d_a, acc_k) (quads
// 0-3: the low nibbles' columns 4c.., 4-7: the high nibbles' 16+4c..); the offsets m * s are
// rounded and summed on the side; at the end ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 +
// acc5) + (acc3 + acc7)) + offsets. Bitwise the reference.
constexpr int kOffsetTokenTile = 4;  // 8 accumulators per token

template <DType T, int NT>
void offset_tile(const uint8_t* group, int64_t nb, const BlockQ8_1* const* act,
                 const Q8_1Scales* const* scales, float* const* out) {
  constexpr int64_t kBlockBytes = T == DType::kQ4_1 ? 16 * 20 : 16 * 24;
  __m512 acc[NT][8], offsets[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    offsets[t] = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) acc[t][k] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    const __m512 mw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32)));
    __m512i w[8];
    nibble_weights<T>(reinterpret_cast<const __m512i*>(blk + 64), w);
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const int8_t* a = act[t][b].qs;
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(scales[t][b].d));
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m512i dot = dpbusd_bcast(_mm512_setzero_si512(), w[k], a + 4 * k);
        acc[t][k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), d, acc[t][k]);
      }
      __m512 offset = _mm512_mul_ps(mw, _mm512_set1_ps(scales[t][b].s));
      asm("" : "+v"(offset));  // rounded before the add, as the reference
      offsets[t] = _mm512_add_ps(offsets[t], offset);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], sum_quad_lanes(acc[t], offsets[t]));
}

template <DType T>
void packed16_matmul_offset(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                            ThreadPool& pool) {
  const int64_t nb = w.cols / kQK;
  const PackedQ8_1Activations q8 = quantize_packed_q8_1(
      avx512_table().quantize_act[static_cast<size_t>(DType::kQ8_1)], x, n_tokens, w.cols, pool);
  const int64_t group_bytes = nb * packed16_block_bytes(T);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for_each_group_tile<kOffsetTokenTile>(
      w.rows / kPackRows, n_tokens, pool, [&](int64_t g, int64_t t0, int nt) {
        const BlockQ8_1* act_rows[kOffsetTokenTile];
        const Q8_1Scales* scale_rows[kOffsetTokenTile];
        float* out_rows[kOffsetTokenTile];
        for (int i = 0; i < nt; ++i) {
          act_rows[i] = q8.blocks + (t0 + i) * nb;
          scale_rows[i] = q8.scales + (t0 + i) * nb;
          out_rows[i] = y + (t0 + i) * w.rows + g * kPackRows;
        }
        with_tile_size<kOffsetTokenTile>(nt, [&](auto n) {
          offset_tile<T, decltype(n)::value>(base + g * group_bytes, nb, act_rows, scale_rows,
                                             out_rows);
        });
      });
}

template <int NT>
void f16_tile(const uint16_t* group, int64_t cols, const float* const* x, float* const* out) {
  __m512 a0[NT], a1[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) a0[t] = a1[t] = _mm512_setzero_ps();
  auto column = [group](int64_t k) {
    return _mm512_cvtph_ps(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + k * kPackRows)));
  };
  int64_t k = 0;
  for (; k + 2 <= cols; k += 2) {
    const __m512 w0 = column(k), w1 = column(k + 1);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      a0[t] = _mm512_fmadd_ps(w0, _mm512_set1_ps(x[t][k]), a0[t]);
      a1[t] = _mm512_fmadd_ps(w1, _mm512_set1_ps(x[t][k + 1]), a1[t]);
    }
  }
  if (k < cols) {
    const __m512 w0 = column(k);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) a0[t] = _mm512_fmadd_ps(w0, _mm512_set1_ps(x[t][k]), a0[t]);
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], _mm512_add_ps(a0[t], a1[t]));
}

// BF16 against the activations rounded to bf16 (the BF16 dot partner): per column pair one
// vdpbf16ps, which adds the odd column's exact product, then the even one's, rounding each sum
// (the AVX2 tile does the same with two fmas). Even pairs go to one accumulator and odd pairs
// to another, added last.
template <int NT>
void bf16_tile(const uint8_t* group, int64_t pairs, const uint32_t* const* x, float* const* out) {
  __m512 a0[NT], a1[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) a0[t] = a1[t] = _mm512_setzero_ps();
  auto pair = [group](int64_t p) {
    return reinterpret_cast<__m512bh>(_mm512_loadu_si512(group + 64 * p));
  };
  auto bcast = [](uint32_t v) {
    return reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(v)));
  };
  int64_t p = 0;
  for (; p + 2 <= pairs; p += 2) {
    const __m512bh w0 = pair(p), w1 = pair(p + 1);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      a0[t] = _mm512_dpbf16_ps(a0[t], w0, bcast(x[t][p]));
      a1[t] = _mm512_dpbf16_ps(a1[t], w1, bcast(x[t][p + 1]));
    }
  }
  if (p < pairs) {
    const __m512bh w0 = pair(p);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) a0[t] = _mm512_dpbf16_ps(a0[t], w0, bcast(x[t][p]));
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], _mm512_add_ps(a0[t], a1[t]));
}

void packed16_matmul_bf16(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                          ThreadPool& pool) {
  const uint32_t* xb = round_packed_bf16_activations(x, n_tokens, w.cols, pool);
  const int64_t pairs = w.cols / 2;
  const auto* base = static_cast<const uint8_t*>(w.data);
  for_each_group_tile<kTokenTile>(
      w.rows / kPackRows, n_tokens, pool, [&](int64_t g, int64_t t0, int nt) {
        const uint32_t* x_rows[kTokenTile];
        float* out_rows[kTokenTile];
        for (int i = 0; i < nt; ++i) {
          x_rows[i] = xb + (t0 + i) * pairs;
          out_rows[i] = y + (t0 + i) * w.rows + g * kPackRows;
        }
        with_tile_size<kTokenTile>(nt, [&](auto n) {
          bf16_tile<decltype(n)::value>(base + g * kPackRows * w.cols * 2, pairs, x_rows, out_rows);
        });
      });
}

// Against the activations rounded to f16 (round_packed_f16_activations).
void packed16_matmul_f16(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                         ThreadPool& pool) {
  const float* xh = round_packed_f16_activations(x, n_tokens, w.cols, pool);
  const auto* base = static_cast<const uint16_t*>(w.data);
  for_each_group_tile<kTokenTile>(
      w.rows / kPackRows, n_tokens, pool, [&](int64_t g, int64_t t0, int nt) {
        const float* x_rows[kTokenTile];
        float* out_rows[kTokenTile];
        for (int i = 0; i < nt; ++i) {
          x_rows[i] = xh + (t0 + i) * w.cols;
          out_rows[i] = y + (t0 + i) * w.rows + g * kPackRows;
        }
        with_tile_size<kTokenTile>(nt, [&](auto n) {
          f16_tile<decltype(n)::value>(base + g * kPackRows * w.cols, w.cols, x_rows, out_rows);
        });
      });
}

// The driver of every K-quant tile: each token's activations quantized once to Q8_K (with the
// sub-block sum pairs the Q4_K/Q5_K mins need), then tile(n, group, nb, act_rows, info_rows,
// out_rows) over the 16-row groups and token tiles (n: std::integral_constant tile size).
template <int64_t kBlockBytes, class Tile>
void packed16_matmul_q8_k(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                          ThreadPool& pool, Tile&& tile) {
  const int64_t nb = w.cols / kQKK;
  const PackedQ8KActivations q8 =
      quantize_packed_q8_k(quantize_q8_k_avx512, x, n_tokens, w.cols, pool);
  const int64_t group_bytes = nb * kBlockBytes;
  const auto* base = static_cast<const uint8_t*>(w.data);
  for_each_group_tile<kQ4KTokenTile>(
      w.rows / kPackRows, n_tokens, pool, [&](int64_t g, int64_t t0, int nt) {
        const BlockQ8_K* act_rows[kQ4KTokenTile];
        const Q4KActInfo* info_rows[kQ4KTokenTile];
        float* out_rows[kQ4KTokenTile];
        for (int i = 0; i < nt; ++i) {
          act_rows[i] = q8.blocks + (t0 + i) * nb;
          info_rows[i] = q8.info + (t0 + i) * nb;
          out_rows[i] = y + (t0 + i) * w.rows + g * kPackRows;
        }
        with_tile_size<kQ4KTokenTile>(nt, [&](auto n) {
          tile(n, base + g * group_bytes, nb, act_rows, info_rows, out_rows);
        });
      });
}

void packed16_matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                     ThreadPool& pool) {
  using Act = const BlockQ8_K* const*;
  using Info = const Q4KActInfo* const*;
  using Out = float* const*;
  switch (w.type) {
    case DType::kQ2_K:
      packed16_matmul_q8_k<kQ2KPackedBlock>(
          w, x, n_tokens, y, pool, [](auto n, const uint8_t* g, int64_t nb, Act a, Info, Out o) {
            k2_tile<false, decltype(n)::value>(g, nb, a, o);
          });
      return;
    case DType::kQ3_K:
      packed16_matmul_q8_k<kQ3KPackedBlock>(
          w, x, n_tokens, y, pool, [](auto n, const uint8_t* g, int64_t nb, Act a, Info, Out o) {
            k2_tile<true, decltype(n)::value>(g, nb, a, o);
          });
      return;
    case DType::kQ4_K:
      packed16_matmul_q8_k<kQ4KPackedBlock>(
          w, x, n_tokens, y, pool, [](auto n, const uint8_t* g, int64_t nb, Act a, Info i, Out o) {
            q4k_tile<decltype(n)::value>(g, nb, a, i, o);
          });
      return;
    case DType::kQ5_K:
      packed16_matmul_q8_k<kQ5KPackedBlock>(
          w, x, n_tokens, y, pool, [](auto n, const uint8_t* g, int64_t nb, Act a, Info i, Out o) {
            q5k_tile<decltype(n)::value>(g, nb, a, i, o);
          });
      return;
    case DType::kQ6_K:
      // One or two tokens: the variant that reads each weight bit once.
      packed16_matmul_q8_k<kQ6KPackedBlock>(
          w, x, n_tokens, y, pool, [](auto n, const uint8_t* g, int64_t nb, Act a, Info, Out o) {
            constexpr int kN = decltype(n)::value;
            if constexpr (kN <= 2) {
              q6k_tile_few<kN>(g, nb, a, o);
            } else {
              q6k_tile<kN>(g, nb, a, o);
            }
          });
      return;
    case DType::kF16:
      packed16_matmul_f16(w, x, n_tokens, y, pool);
      return;
    case DType::kBF16:
      packed16_matmul_bf16(w, x, n_tokens, y, pool);
      return;
    case DType::kQ4_0:
      packed16_matmul_typed<DType::kQ4_0>(w, x, n_tokens, y, pool);
      return;
    case DType::kQ5_0:
      packed16_matmul_typed<DType::kQ5_0>(w, x, n_tokens, y, pool);
      return;
    case DType::kQ4_1:
      packed16_matmul_offset<DType::kQ4_1>(w, x, n_tokens, y, pool);
      return;
    case DType::kQ5_1:
      packed16_matmul_offset<DType::kQ5_1>(w, x, n_tokens, y, pool);
      return;
    default:
      packed16_matmul_typed<DType::kQ8_0>(w, x, n_tokens, y, pool);
      return;
  }
}

}  // namespace
}  // namespace tenbin::kernels::cpu
