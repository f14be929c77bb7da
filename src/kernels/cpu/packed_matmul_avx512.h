// AVX-512 matmul over 16-row packed weights (kernels/packed_layout.h): one 32-bit lane per
// weight row, up to kTokenTile tokens per pass so each loaded weight vector is reused from
// registers. Q4_0/Q8_0: dpbusd on four columns at a time, per block an exact integer dot,
// then acc = fma(d_w * d_a, float(dot), acc) in block order. F16: activations rounded to f16,
// even columns summed by fma into one accumulator and odd columns into another, added last.
// Q4_K: per 32-column sub-block an exact integer dot times its 6-bit scale, mins through
// the activation block sums (see q4k_tile). Q5_K: the reference's lane order (q5k_tile).
// Q2_K/Q3_K: the reference's steps (k2_tile).
// Every output is computed by the same sequence of operations whatever n_tokens and the
// token's place in its tile, so results are batch invariant and a decode step matches the
// prefill of the same token.
// Include only from cpu_avx512.cc (compiled with the AVX-512 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/act_quant_avx512.h"
#include "kernels/cpu/cpu_tables.h"
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

// s += dpbusd(w, the four signed bytes at p broadcast to every lane), with the broadcast
// folded into the instruction's memory operand ({1to16}). Compilers keep a separate
// vpbroadcastd for the intrinsic form; the folded one is measured 4% faster in the Q4_0 and
// Q8_0 tiles (one fewer vector uop per dot, and it frees the register). Used by every tile.
inline __m512i dpbusd_bcast(__m512i s, __m512i w, const int8_t* p) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(s) : "v"(w), "m"(*reinterpret_cast<const int32_t*>(p)));
  return s;
}

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

// The end of the reference's lane order (ref hsum_lanes): the eight column-quad accumulators
// summed as ((q0 + q4) + (q2 + q6)) + ((q1 + q5) + (q3 + q7)), then the side sum added.
inline __m512 sum_quad_lanes(const __m512* q, __m512 side) {
  const __m512 even = _mm512_add_ps(_mm512_add_ps(q[0], q[4]), _mm512_add_ps(q[2], q[6]));
  const __m512 odd = _mm512_add_ps(_mm512_add_ps(q[1], q[5]), _mm512_add_ps(q[3], q[7]));
  return _mm512_add_ps(_mm512_add_ps(even, odd), side);
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

// Q4_K/Q5_K mins: the group block's (min 2p, min 2p+1) int16 pairs per row lane, and per row
// imin = sum_p pair_p . (bsum pair p) (exact).
inline void load_k4_min_pairs(const uint8_t* blk, __m512i* mn) {
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    mn[p] = _mm512_cvtepu8_epi16(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ4KPackedMins + 32 * p)));
  }
}
inline __m512i k4_min_sum(const __m512i* mn, const Q4KActInfo& ai) {
  __m512i imin = _mm512_madd_epi16(mn[0], _mm512_set1_epi32(ai.bsum_pairs[0]));
#pragma GCC unroll 4
  for (int p = 1; p < 4; ++p) {
    imin = _mm512_add_epi32(imin, _mm512_madd_epi16(mn[p], _mm512_set1_epi32(ai.bsum_pairs[p])));
  }
  return imin;
}

// Q4_K against Q8_K activations. Per super-block and row: isum = sum_j sc_j * dot_j (exact),
// imin = sum_j min_j * bsum_j (exact), then acc = fma(d*da, isum, acc) and
// acc = fnma(dmin*da, imin, acc), super-block by super-block.
constexpr int kQ4KTokenTile = 4;  // 16 unpacked weight vectors stay in registers per pair

template <int NT>
void q4k_tile(const uint8_t* group, int64_t nb, const BlockQ8_K* const* act,
              const Q4KActInfo* const* info, float* const* out) {
  __m512 acc[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ4KPackedBlock;
    if constexpr (NT <= 2) prefetch_ahead<kQ4KPackedBlock>(blk);
    __m512i isum[NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const __m512i sc_lo = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4KPackedScales + 32 * c)));
      const __m512i sc_hi = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4KPackedScales + 32 * c + 16)));
      __m512i w[16];
      const auto* q = reinterpret_cast<const __m512i*>(blk + kQ4KPackedQuants) + 8 * c;
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512i raw = _mm512_loadu_si512(q + i);
        w[i] = _mm512_and_si512(raw, m4);
        w[8 + i] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
      }
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        const int8_t* a = act[t][b].qs + 64 * c;
        __m512i lo0 = _mm512_setzero_si512(), lo1 = lo0, hi0 = lo0, hi1 = lo0;
#pragma GCC unroll 8
        for (int i = 0; i < 8; i += 2) {
          lo0 = dpbusd_bcast(lo0, w[i], a + 4 * i);
          lo1 = dpbusd_bcast(lo1, w[i + 1], a + 4 * i + 4);
          hi0 = dpbusd_bcast(hi0, w[8 + i], a + 32 + 4 * i);
          hi1 = dpbusd_bcast(hi1, w[9 + i], a + 36 + 4 * i);
        }
        isum[t] = _mm512_add_epi32(
            isum[t], _mm512_add_epi32(_mm512_mullo_epi32(_mm512_add_epi32(lo0, lo1), sc_lo),
                                      _mm512_mullo_epi32(_mm512_add_epi32(hi0, hi1), sc_hi)));
      }
    }
    __m512i mins[4];
    load_k4_min_pairs(blk, mins);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    const __m512 dmw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ4KPackedDmin)));
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const Q4KActInfo& ai = info[t][b];
      const __m512i imin = k4_min_sum(mins, ai);
      const __m512 da = _mm512_set1_ps(ai.d);
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, da), _mm512_cvtepi32_ps(isum[t]), acc[t]);
      acc[t] = _mm512_fnmadd_ps(_mm512_mul_ps(dmw, da), _mm512_cvtepi32_ps(imin), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], acc[t]);
}

// Q5_K against Q8_K activations, in the reference's order (ref dot_q5_k_lanes): per
// super-block, row and column quad i, the exact integer L_i = sum_j sc_j * dot_ij (dot_ij: the
// quad's four columns of sub-block j, by dpbusd; times sc_j by vpdpwssd, exact since |dot_ij|
// < 2^15), then acc_i = fma(d * da, L_i, acc_i); the min terms (-da * dmin) * imin are
// rounded and summed on the side. At the end ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 +
// acc5) + (acc3 + acc7)) + mins, so every output equals the reference bit for bit.
template <int NT>
void q5k_tile(const uint8_t* group, int64_t nb, const BlockQ8_K* const* act,
              const Q4KActInfo* const* info, float* const* out) {
  __m512 acc[NT][8], mins[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    mins[t] = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) acc[t][i] = _mm512_setzero_ps();
  }
  const __m512i m4 = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ5KPackedBlock;
    if constexpr (NT <= 2) prefetch_ahead<kQ5KPackedBlock>(blk);
    __m512i sc[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      sc[j] = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4KPackedScales + 16 * j)));
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      const __m512i qh = _mm512_loadu_si512(blk + q5k_high_chunk(i));
      __m512i lanes[NT];
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) lanes[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        // Bit j of each high-bit byte moved to bit 4 (16-bit shifts keep it in its byte).
        auto high_bit = [&](int j) {
          const __m512i moved =
              j <= 4 ? _mm512_slli_epi16(qh, 4 - j) : _mm512_srli_epi16(qh, j - 4);
          return _mm512_and_si512(moved, bit4);
        };
        // (A & C) | B with A the quants, B the high bit, C the nibble mask.
        constexpr int kNibbleOrHigh = 0xEC;
        const __m512i raw = _mm512_loadu_si512(blk + q5k_quant_chunk(i, c));
        const __m512i w_lo = _mm512_ternarylogic_epi32(raw, high_bit(2 * c), m4, kNibbleOrHigh);
        const __m512i w_hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(raw, 4),
                                                       high_bit(2 * c + 1), m4, kNibbleOrHigh);
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) {
          const int8_t* a = act[t][b].qs + 64 * c + 4 * i;
          const __m512i dot_lo = dpbusd_bcast(_mm512_setzero_si512(), w_lo, a);
          const __m512i dot_hi = dpbusd_bcast(_mm512_setzero_si512(), w_hi, a + 32);
          lanes[t] = _mm512_dpwssd_epi32(lanes[t], dot_lo, sc[2 * c]);
          lanes[t] = _mm512_dpwssd_epi32(lanes[t], dot_hi, sc[2 * c + 1]);
        }
      }
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(info[t][b].d));
        acc[t][i] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lanes[t]), acc[t][i]);
      }
    }
    __m512i mn[4];
    load_k4_min_pairs(blk, mn);
    const __m512 dmw =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ4KPackedDmin)));
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const Q4KActInfo& ai = info[t][b];
      __m512 term = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(-ai.d), dmw),
                                  _mm512_cvtepi32_ps(k4_min_sum(mn, ai)));
      asm("" : "+v"(term));  // rounded before the add, as the reference (no fma contraction)
      mins[t] = _mm512_add_ps(mins[t], term);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], sum_quad_lanes(acc[t], mins[t]));
}

// Q2_K and Q3_K against Q8_K activations, in the reference's order (ref dot_k): per
// super-block and row the exact integer sums isum = sum_g sc_g * dot_g and, for Q2_K,
// msum = sum_g mn_g * bsum_g; Q3_K's levels go in as level + 4 (the third bit times 4) with the
// group's dot started at -4 * bsum_g. Then term = (d * da) * isum [- (dmin * da) * msum], each
// product rounded, added super-block by super-block: bitwise the reference. Run r (0..7) of a
// super-block is bit pair r % 4 of the quant chunks of half r / 4; the column quads 0-3 of a
// run are sub-block 2r, quads 4-7 sub-block 2r + 1.
template <bool kQ3, int NT>
void k2_tile(const uint8_t* group, int64_t nb, const BlockQ8_K* const* act, float* const* out) {
  constexpr int64_t kBlock = kQ3 ? kQ3KPackedBlock : kQ2KPackedBlock;
  constexpr int64_t kScales = kQ3 ? kQ3KPackedScales : kQ2KPackedScales;
  constexpr int64_t kQuants = kQ3 ? kQ3KPackedQuants : kQ2KPackedQuants;
  __m512 sum[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) sum[t] = _mm512_setzero_ps();
  const __m512i m3 = _mm512_set1_epi8(3), bit2 = _mm512_set1_epi8(4), m4 = _mm512_set1_epi32(15);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlock;
    if constexpr (NT <= 2) prefetch_ahead<kBlock>(blk);
    __m512i isum[NT], msum[NT];
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) isum[t] = msum[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      __m512i dot[NT][2];
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        if constexpr (kQ3) {
          dot[t][0] = _mm512_set1_epi32(-4 * act[t][b].bsums[2 * r]);
          dot[t][1] = _mm512_set1_epi32(-4 * act[t][b].bsums[2 * r + 1]);
        } else {
          dot[t][0] = dot[t][1] = _mm512_setzero_si512();
        }
      }
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512i bits = _mm512_loadu_si512(blk + kQuants + 64 * (8 * (r / 4) + i));
        __m512i w = _mm512_and_si512(_mm512_srli_epi16(bits, 2 * (r % 4)), m3);
        if constexpr (kQ3) {
          // Bit r of each high-bit byte to bit 2 (16-bit shifts keep it in its byte).
          const __m512i hm = _mm512_loadu_si512(blk + kQ3KPackedHmask + 64 * i);
          const __m512i moved =
              r <= 2 ? _mm512_slli_epi16(hm, 2 - r) : _mm512_srli_epi16(hm, r - 2);
          w = _mm512_or_si512(w, _mm512_and_si512(moved, bit2));
        }
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) {
          dot[t][i / 4] = dpbusd_bcast(dot[t][i / 4], w, act[t][b].qs + 32 * r + 4 * i);
        }
      }
      const __m128i* scale_bytes = reinterpret_cast<const __m128i*>(blk + kScales + 32 * r);
      __m512i sc[2], mn[2];
#pragma GCC unroll 2
      for (int k = 0; k < 2; ++k) {
        if constexpr (kQ3) {
          sc[k] = _mm512_cvtepi8_epi32(_mm_loadu_si128(scale_bytes + k));
        } else {
          const __m512i raw = _mm512_cvtepu8_epi32(_mm_loadu_si128(scale_bytes + k));
          sc[k] = _mm512_and_si512(raw, m4);
          mn[k] = _mm512_srli_epi32(raw, 4);
        }
      }
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(dot[t][0], sc[0]),
                                                             _mm512_mullo_epi32(dot[t][1], sc[1])));
        if constexpr (!kQ3) {
          const int16_t* bsums = act[t][b].bsums + 2 * r;
          msum[t] = _mm512_add_epi32(
              msum[t], _mm512_add_epi32(_mm512_mullo_epi32(mn[0], _mm512_set1_epi32(bsums[0])),
                                        _mm512_mullo_epi32(mn[1], _mm512_set1_epi32(bsums[1]))));
        }
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const __m512 da = _mm512_set1_ps(act[t][b].d);
      __m512 term = _mm512_mul_ps(_mm512_mul_ps(dw, da), _mm512_cvtepi32_ps(isum[t]));
      asm("" : "+v"(term));  // products rounded before the adds, as the reference
      if constexpr (!kQ3) {
        const __m512 dmw = _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ2KPackedDmin)));
        __m512 min_term = _mm512_mul_ps(_mm512_mul_ps(dmw, da), _mm512_cvtepi32_ps(msum[t]));
        asm("" : "+v"(min_term));
        term = _mm512_sub_ps(term, min_term);
      }
      sum[t] = _mm512_add_ps(sum[t], term);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], sum[t]);
}

// Q6_K against Q8_K activations. Per super-block and row:
// isum = sum_j sc_j * (dot(q6_j, a_j) - 32 * bsum_j) (exact; q6 unsigned 0..63), then
// acc = fma(d * da, isum, acc), super-block by super-block.
template <int NT>
void q6k_tile(const uint8_t* group, int64_t nb, const BlockQ8_K* const* act, float* const* out) {
  __m512 acc[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(3);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ6KPackedBlock;
    __m512i isum[NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        // Elements 128h + 32k + (0..31): low bits from ql part k&1 (nibble k>>1), high bits
        // from qh bit pair k.
        __m512i w[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) {
          __m512i l = _mm512_loadu_si512(blk + q6k_low_chunk(16 * h + 8 * (k & 1) + i));
          if (k >> 1) l = _mm512_srli_epi16(l, 4);
          const __m512i hb = _mm512_and_si512(
              _mm512_srli_epi16(_mm512_loadu_si512(blk + q6k_high_chunk(8 * h + i)), 2 * k), m3);
          w[i] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_slli_epi16(hb, 4));
        }
        const int j = 8 * h + 2 * k;  // sub-blocks j (w[0..3]) and j+1 (w[4..7])
        const __m512i sc_a = _mm512_cvtepi8_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ6KPackedScales + 16 * j)));
        const __m512i sc_b = _mm512_cvtepi8_epi32(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(blk + kQ6KPackedScales + 16 * j + 16)));
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t) {
          const int8_t* a = act[t][b].qs + 128 * h + 32 * k;
          __m512i a0 = _mm512_set1_epi32(-32 * act[t][b].bsums[j]), a1 = _mm512_setzero_si512();
          __m512i b0 = _mm512_set1_epi32(-32 * act[t][b].bsums[j + 1]), b1 = a1;
          a0 = dpbusd_bcast(a0, w[0], a);
          a1 = dpbusd_bcast(a1, w[1], a + 4);
          b0 = dpbusd_bcast(b0, w[4], a + 16);
          b1 = dpbusd_bcast(b1, w[5], a + 20);
          a0 = dpbusd_bcast(a0, w[2], a + 8);
          a1 = dpbusd_bcast(a1, w[3], a + 12);
          b0 = dpbusd_bcast(b0, w[6], a + 24);
          b1 = dpbusd_bcast(b1, w[7], a + 28);
          isum[t] = _mm512_add_epi32(
              isum[t], _mm512_add_epi32(_mm512_mullo_epi32(_mm512_add_epi32(a0, a1), sc_a),
                                        _mm512_mullo_epi32(_mm512_add_epi32(b0, b1), sc_b)));
        }
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(act[t][b].d));
      acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(isum[t]), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], acc[t]);
}

// The same sums for one or two tokens with the weight bits read once: per 4-column step
// all four 32-element runs of a half are unpacked together, each feeding its own pair of
// sub-block accumulators. Integer sums are exact, so the order does not change any result.
template <int NT>
void q6k_tile_few(const uint8_t* group, int64_t nb, const BlockQ8_K* const* act,
                  float* const* out) {
  __m512 acc[NT];
#pragma GCC unroll 2
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ6KPackedBlock;
    prefetch_ahead<kQ6KPackedBlock>(blk);
    __m512i isum[NT];
#pragma GCC unroll 2
    for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m512i dot[NT][8];  // [2k + (first or second sub-block of run k)]
#pragma GCC unroll 2
      for (int t = 0; t < NT; ++t) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
          dot[t][j] = _mm512_set1_epi32(-32 * act[t][b].bsums[8 * h + j]);
        }
      }
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512i l0 = _mm512_loadu_si512(blk + q6k_low_chunk(16 * h + i));
        const __m512i l1 = _mm512_loadu_si512(blk + q6k_low_chunk(16 * h + 8 + i));
        const __m512i hb = _mm512_loadu_si512(blk + q6k_high_chunk(8 * h + i));
        const __m512i q[4] = {_mm512_or_si512(_mm512_and_si512(l0, m4),
                                              _mm512_and_si512(_mm512_slli_epi16(hb, 4), m30)),
                              _mm512_or_si512(_mm512_and_si512(l1, m4),
                                              _mm512_and_si512(_mm512_slli_epi16(hb, 2), m30)),
                              _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), m4),
                                              _mm512_and_si512(hb, m30)),
                              _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), m4),
                                              _mm512_and_si512(_mm512_srli_epi16(hb, 2), m30))};
#pragma GCC unroll 2
        for (int t = 0; t < NT; ++t) {
          const int8_t* a = act[t][b].qs + 128 * h + 4 * i;
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            __m512i& d = dot[t][2 * k + i / 4];
            d = dpbusd_bcast(d, q[k], a + 32 * k);
          }
        }
      }
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(blk + kQ6KPackedScales + 16 * (8 * h + j))));
#pragma GCC unroll 2
        for (int t = 0; t < NT; ++t) {
          isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dot[t][j], sc));
        }
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
#pragma GCC unroll 2
    for (int t = 0; t < NT; ++t) {
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(act[t][b].d));
      acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(isum[t]), acc[t]);
    }
  }
#pragma GCC unroll 2
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(out[t], acc[t]);
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
