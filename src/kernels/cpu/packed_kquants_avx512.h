// AVX-512 tiles of the K formats over 16-row packed weights (kernels/packed_layout.h): Q2_K,
// Q3_K, Q4_K, Q5_K and Q6_K against Q8_K activations, one 32-bit lane per weight row, up to
// four tokens per pass. Include only from packed_matmul_avx512.h.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/packed_avx512_common.h"
#include "kernels/cpu/packed_tiling.h"
#include "kernels/packed_layout.h"
#include "tensor/blocks.h"

namespace tenbin::kernels::cpu {
namespace {

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
          // + 4 in the bytes whose high bit r is set (a byte mask from one test).
          const __m512i hm = _mm512_loadu_si512(blk + kQ3KPackedHmask + 64 * i);
          w = _mm512_mask_add_epi8(w, _mm512_test_epi8_mask(hm, _mm512_set1_epi8(char(1 << r))), w,
                                   bit2);
        }
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) {
          dot[t][i / 4] = dpbusd_bcast(dot[t][i / 4], w, act[t][b].qs + 32 * r + 4 * i);
        }
      }
      // The scales (and Q2_K's mins) as int16 in the low half of each lane, zero above, so
      // vpdpwssd multiplies them by a dot (|dot| < 2^15: 16 columns of levels <= 7 times
      // |a| <= 128, less 4 * bsum) or an int16 bsum exactly, and adds in int32.
      const __m128i* scale_bytes = reinterpret_cast<const __m128i*>(blk + kScales + 32 * r);
      __m512i sc[2], mn[2];
#pragma GCC unroll 2
      for (int k = 0; k < 2; ++k) {
        if constexpr (kQ3) {
          sc[k] = _mm512_cvtepu16_epi32(_mm256_cvtepi8_epi16(_mm_loadu_si128(scale_bytes + k)));
        } else {
          const __m512i raw = _mm512_cvtepu8_epi32(_mm_loadu_si128(scale_bytes + k));
          sc[k] = _mm512_and_si512(raw, m4);
          mn[k] = _mm512_srli_epi32(raw, 4);
        }
      }
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        isum[t] =
            _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(isum[t], dot[t][0], sc[0]), dot[t][1], sc[1]);
        if constexpr (!kQ3) {
          const int16_t* bsums = act[t][b].bsums + 2 * r;
          msum[t] =
              _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(msum[t], mn[0], _mm512_set1_epi32(bsums[0])),
                                  mn[1], _mm512_set1_epi32(bsums[1]));
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

}  // namespace
}  // namespace tenbin::kernels::cpu
