// AVX2 tiles of the K formats over 16-row packed weights (kernels/packed_layout.h): Q2_K, Q3_K,
// Q4_K, Q5_K and Q6_K against Q8_K activations. Each bitwise equals its AVX-512 tile
// (packed_matmul_avx512.h). Include only from packed_matmul_avx2.h.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/packed_avx2_common.h"

namespace tenbin::kernels::cpu {
namespace {

// Q4_K/Q5_K mins for the rows of `half`: the group block's (min 2p, min 2p+1) int16 pairs per
// row lane, and per row imin = sum_p pair_p . (bsum pair p) (exact).
inline void load_k4_min_pairs_avx2(const uint8_t* blk, int half, __m256i* mn) {
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    mn[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128(
        reinterpret_cast<const __m128i*>(blk + kQ4KPackedMins + 32 * p + 16 * half)));
  }
}
inline __m256i k4_min_sum_avx2(const __m256i* mn, const Q4KActInfo& ai) {
  __m256i imin = _mm256_madd_epi16(mn[0], _mm256_set1_epi32(ai.bsum_pairs[0]));
#pragma GCC unroll 4
  for (int p = 1; p < 4; ++p) {
    imin = _mm256_add_epi32(imin, _mm256_madd_epi16(mn[p], _mm256_set1_epi32(ai.bsum_pairs[p])));
  }
  return imin;
}

// The float steps of a Q4_K super-block for the rows of `half`, as the AVX-512 tile's:
// imin = sum_p (min 2p, min 2p+1) . (bsum pair p), then acc = fma(d * da, isum, acc) and
// acc = fnma(dmin * da, imin, acc).
template <int NT>
inline void fold_q4_k_block(const uint8_t* blk, int half, const Q4KActInfo* const* info, int64_t b,
                            const __m256i* isum, __m256* acc) {
  __m256i mins[4];
  load_k4_min_pairs_avx2(blk, half, mins);
  const __m256 dw =
      _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
  const __m256 dmw = _mm256_cvtph_ps(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4KPackedDmin + 16 * half)));
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
    const Q4KActInfo& ai = info[t][b];
    const __m256i imin = k4_min_sum_avx2(mins, ai);
    const __m256 da = _mm256_set1_ps(ai.d);
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t]), acc[t]);
    acc[t] = _mm256_fnmadd_ps(_mm256_mul_ps(dmw, da), _mm256_cvtepi32_ps(imin), acc[t]);
  }
}

// Rows 8*half..8*half+7 of a packed Q4_K group against NT tokens' Q8_K blocks. Per 32-column
// sub-block: 8 pmaddubsw of nibbles (0..15) add up in int16 as for Q4_0, and one pmaddwd by
// the (scale, scale) pair gives scale * dot. Then, per super-block, the AVX-512 tile's
// isum/imin and its two float steps.
template <int NT>
void q4_k_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_K* const* act,
                         const Q4KActInfo* const* info, float* const* out) {
  __m256 acc[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ4KPackedBlock;
    __m256i isum[NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int j = 0; j < 8; ++j) {  // sub-block j: chunks 8*(j/2)+i, low nibbles when j is even
      const __m256i sc = spread_row_bytes<false>(blk + kQ4KPackedScales + 16 * j + 8 * half);
      const uint8_t* q = blk + kQ4KPackedQuants + 64 * 8 * (j / 2) + 32 * half;
      __m256i w[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * i));
        w[i] = _mm256_and_si256(j % 2 ? _mm256_srli_epi16(raw, 4) : raw, m4);
      }
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        const int8_t* a = act[t][b].qs + 32 * j;
        __m256i s16 = _mm256_maddubs_epi16(w[0], broadcast4_avx2(a));
#pragma GCC unroll 8
        for (int i = 1; i < 8; ++i) {
          s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(w[i], broadcast4_avx2(a + 4 * i)));
        }
        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(s16, sc));
      }
    }
    fold_q4_k_block<NT>(blk, half, info, b, isum, acc);
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, acc[t]);
}

// The same sums for one or two tokens, the whole 16-row group per super-block: each activation
// quad is broadcast once for both halves, and the block two on is asked into L2 first.
template <int NT>
void q4_k_group_few_avx2(const uint8_t* group, int64_t nb, const BlockQ8_K* const* act,
                         const Q4KActInfo* const* info, float* const* out) {
  __m256 acc[2][NT];  // [half][token]
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ4KPackedBlock;
    prefetch_ahead<kQ4KPackedBlock>(blk);
    __m256i isum[2][NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) isum[0][t] = isum[1][t] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int j = 0; j < 8; ++j) {  // sub-block j: chunks 8*(j/2)+i, low nibbles when j is even
      const uint8_t* q = blk + kQ4KPackedQuants + 64 * 8 * (j / 2);
      __m256i s16[2][NT];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        __m256i w[2];
#pragma GCC unroll 2
        for (int half = 0; half < 2; ++half) {
          const __m256i raw = load_half(q + 64 * i, half);
          w[half] = _mm256_and_si256(j % 2 ? _mm256_srli_epi16(raw, 4) : raw, m4);
        }
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t) {
          const __m256i av = broadcast4_avx2(act[t][b].qs + 32 * j + 4 * i);
#pragma GCC unroll 2
          for (int half = 0; half < 2; ++half) {
            const __m256i p = _mm256_maddubs_epi16(w[half], av);
            s16[half][t] = i == 0 ? p : _mm256_add_epi16(s16[half][t], p);
          }
        }
      }
#pragma GCC unroll 2
      for (int half = 0; half < 2; ++half) {
        const __m256i sc = spread_row_bytes<false>(blk + kQ4KPackedScales + 16 * j + 8 * half);
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t) {
          isum[half][t] = _mm256_add_epi32(isum[half][t], _mm256_madd_epi16(s16[half][t], sc));
        }
      }
    }
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      fold_q4_k_block<NT>(blk, half, info, b, isum[half], acc[half]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_ps(out[t], acc[0][t]);
    _mm256_storeu_ps(out[t] + 8, acc[1][t]);
  }
}

// Rows 8*half..8*half+7 of a packed Q5_K group against NT tokens' Q8_K blocks, in the AVX-512
// tile's (and the reference's) order: per column quad i, L_i = sum_j sc_j * dot_ij with each
// dot_ij a pmaddubsw of 5-bit levels (pair sums at most 31 * 128 * 2, no saturation) widened by
// one pmaddwd against (sc_j, sc_j); acc_i = fma(d * da, L_i, acc_i); the min terms rounded and
// summed on the side; the same final sum. Bitwise the AVX-512 tile and the reference.
template <int NT>
void q5_k_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_K* const* act,
                         const Q4KActInfo* const* info, float* const* out) {
  __m256 acc[NT][8], mins_acc[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    mins_acc[t] = _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) acc[t][i] = _mm256_setzero_ps();
  }
  const __m256i m4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ5KPackedBlock;
    if constexpr (NT <= 2) {
      if (half == 0) prefetch_ahead<kQ5KPackedBlock>(blk);
    }
    __m256i sc[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      sc[j] = spread_row_bytes<false>(blk + kQ4KPackedScales + 16 * j + 8 * half);
    }
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
#pragma GCC unroll 1
    for (int i = 0; i < 8; ++i) {
      const __m256i qh = load_half(blk + q5k_high_chunk(i), half);
      __m256i lanes[NT];
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) lanes[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        // Bit j of each high-bit byte moved to bit 4 (16-bit shifts keep it in its byte).
        auto high_bit = [&](int j) {
          const __m256i moved =
              j <= 4 ? _mm256_slli_epi16(qh, 4 - j) : _mm256_srli_epi16(qh, j - 4);
          return _mm256_and_si256(moved, bit4);
        };
        const __m256i raw = load_half(blk + q5k_quant_chunk(i, c), half);
        const __m256i w_lo = _mm256_or_si256(_mm256_and_si256(raw, m4), high_bit(2 * c));
        const __m256i w_hi =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), high_bit(2 * c + 1));
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) {
          const int8_t* a = act[t][b].qs + 64 * c + 4 * i;
          const __m256i lo = _mm256_maddubs_epi16(w_lo, broadcast4_avx2(a));
          const __m256i hi = _mm256_maddubs_epi16(w_hi, broadcast4_avx2(a + 32));
          lanes[t] =
              _mm256_add_epi32(lanes[t], _mm256_add_epi32(_mm256_madd_epi16(lo, sc[2 * c]),
                                                          _mm256_madd_epi16(hi, sc[2 * c + 1])));
        }
      }
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(info[t][b].d));
        acc[t][i] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(lanes[t]), acc[t][i]);
      }
    }
    __m256i mn[4];
    load_k4_min_pairs_avx2(blk, half, mn);
    const __m256 dmw = _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4KPackedDmin + 16 * half)));
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const Q4KActInfo& ai = info[t][b];
      __m256 term = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(-ai.d), dmw),
                                  _mm256_cvtepi32_ps(k4_min_sum_avx2(mn, ai)));
      asm("" : "+x"(term));  // rounded before the add, as the reference (no fma contraction)
      mins_acc[t] = _mm256_add_ps(mins_acc[t], term);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_ps(out[t] + 8 * half, sum_quad_lanes_avx2(acc[t], mins_acc[t]));
  }
}

// Rows 8*half..8*half+7 of a packed Q2_K (kQ3 false) or Q3_K group against NT tokens' Q8_K
// blocks, in the AVX-512 tile's (and the reference's) steps. Per run r and sub-block g: the
// four column quads' pmaddubsw pair sums (levels 0..3, or 0..7 with Q3_K's third bit, times
// |a| <= 127: at most 7 * 127 * 2 each) add up in int16 with Q3_K's -4 * bsum_g in the low
// half of each lane (|sum| < 2^14), then one pmaddwd by (sc_g, sc_g) widens them exactly.
// Q2_K's msum takes one pmaddwd per run: (mn_2r, mn_2r+1) . (bsum_2r, bsum_2r+1).
template <bool kQ3, int NT>
void k2_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_K* const* act,
                       float* const* out) {
  constexpr int64_t kBlock = kQ3 ? kQ3KPackedBlock : kQ2KPackedBlock;
  constexpr int64_t kScales = kQ3 ? kQ3KPackedScales : kQ2KPackedScales;
  constexpr int64_t kQuants = kQ3 ? kQ3KPackedQuants : kQ2KPackedQuants;
  __m256 sum[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) sum[t] = _mm256_setzero_ps();
  const __m256i m3 = _mm256_set1_epi8(3), bit2 = _mm256_set1_epi8(4);
  const __m256i low4 = _mm256_set1_epi16(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlock;
    if constexpr (NT <= 2) {
      if (half == 0) prefetch_ahead<kBlock>(blk);
    }
    __m256i isum[NT], msum[NT];
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) isum[t] = msum[t] = _mm256_setzero_si256();
#pragma GCC unroll 1
    for (int r = 0; r < 8; ++r) {
      __m256i s16[NT][2];
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        if constexpr (kQ3) {
          const int16_t* bsums = act[t][b].bsums + 2 * r;
          s16[t][0] = _mm256_set1_epi32(static_cast<uint16_t>(-4 * bsums[0]));
          s16[t][1] = _mm256_set1_epi32(static_cast<uint16_t>(-4 * bsums[1]));
        } else {
          s16[t][0] = s16[t][1] = _mm256_setzero_si256();
        }
      }
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m256i bits = load_half(blk + kQuants + 64 * (8 * (r / 4) + i), half);
        __m256i w = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * (r % 4)), m3);
        if constexpr (kQ3) {
          // Bit r of each high-bit byte to bit 2 (16-bit shifts keep it in its byte).
          const __m256i hm = load_half(blk + kQ3KPackedHmask + 64 * i, half);
          const __m256i moved =
              r <= 2 ? _mm256_slli_epi16(hm, 2 - r) : _mm256_srli_epi16(hm, r - 2);
          w = _mm256_or_si256(w, _mm256_and_si256(moved, bit2));
        }
#pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) {
          const __m256i p = _mm256_maddubs_epi16(w, broadcast4_avx2(act[t][b].qs + 32 * r + 4 * i));
          s16[t][i / 4] = _mm256_add_epi16(s16[t][i / 4], p);
        }
      }
      __m256i sc[2];
#pragma GCC unroll 2
      for (int k = 0; k < 2; ++k) {
        const uint8_t* p = blk + kScales + 16 * (2 * r + k) + 8 * half;
        sc[k] =
            kQ3 ? spread_row_bytes<true>(p) : _mm256_and_si256(spread_row_bytes<false>(p), low4);
      }
      __m256i mn_pairs = _mm256_setzero_si256();  // per row lane: (mn_2r, mn_2r+1) as int16
      if constexpr (!kQ3) {
        const __m128i a = _mm_loadl_epi64(
            reinterpret_cast<const __m128i*>(blk + kScales + 16 * (2 * r) + 8 * half));
        const __m128i c = _mm_loadl_epi64(
            reinterpret_cast<const __m128i*>(blk + kScales + 16 * (2 * r + 1) + 8 * half));
        mn_pairs = _mm256_srli_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, c)), 4);
      }
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(s16[t][0], sc[0]),
                                                             _mm256_madd_epi16(s16[t][1], sc[1])));
        if constexpr (!kQ3) {
          const int16_t* bsums = act[t][b].bsums + 2 * r;
          const int32_t pair = static_cast<int32_t>(static_cast<uint16_t>(bsums[0]) |
                                                    (static_cast<uint32_t>(bsums[1]) << 16));
          msum[t] = _mm256_add_epi32(msum[t], _mm256_madd_epi16(mn_pairs, _mm256_set1_epi32(pair)));
        }
      }
    }
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const __m256 da = _mm256_set1_ps(act[t][b].d);
      __m256 term = _mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t]));
      asm("" : "+x"(term));  // products rounded before the adds, as the reference
      if constexpr (!kQ3) {
        const __m256 dmw = _mm256_cvtph_ps(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ2KPackedDmin + 16 * half)));
        __m256 min_term = _mm256_mul_ps(_mm256_mul_ps(dmw, da), _mm256_cvtepi32_ps(msum[t]));
        asm("" : "+x"(min_term));
        term = _mm256_sub_ps(term, min_term);
      }
      sum[t] = _mm256_add_ps(sum[t], term);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, sum[t]);
}

// corr += sum_j scale_j * bsum_j over the 8 sub-blocks of half h of a Q6_K super-block (per
// row lane of `half`), two sub-blocks per pmaddwd: (scale j, scale j+1) x (bsum j, bsum j+1).
template <int NT>
inline void add_q6_k_correction(const uint8_t* blk, int half, int h, const BlockQ8_K* const* act,
                                int64_t b, __m256i* corr) {
#pragma GCC unroll 8
  for (int j = 8 * h; j < 8 * h + 8; j += 2) {
    const __m256i pair = _mm256_blend_epi16(
        spread_row_bytes<true>(blk + kQ6KPackedScales + 16 * j + 8 * half),
        spread_row_bytes<true>(blk + kQ6KPackedScales + 16 * (j + 1) + 8 * half), 0xAA);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      int32_t bsums;
      std::memcpy(&bsums, &act[t][b].bsums[j], 4);
      corr[t] = _mm256_add_epi32(corr[t], _mm256_madd_epi16(pair, _mm256_set1_epi32(bsums)));
    }
  }
}

// The float step of a Q6_K super-block, as the AVX-512 tile's: isum = dots - 32 * corr, then
// acc = fma(d * da, float(isum), acc).
template <int NT>
inline void fold_q6_k_block(const uint8_t* blk, int half, const BlockQ8_K* const* act, int64_t b,
                            const __m256i* isum, const __m256i* corr, __m256* acc) {
  const __m256 dw =
      _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
    const __m256i total = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(corr[t], 5));
    const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(act[t][b].d));
    acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(total), acc[t]);
  }
}

// Rows 8*half..8*half+7 of a packed Q6_K group against NT tokens' Q8_K blocks. Weights are
// unsigned (0..63): two pmaddubsw (pair sums up to 16256) add up in int16, so a 16-column
// sub-block takes two pmaddwd by its (scale, scale) pair. The -32 * sum(a) correction is
// sum_j scale_j * bsum_j, two sub-blocks per pmaddwd. Then isum = dots - 32 * correction, the
// AVX-512 tile's integer, and its float step.
template <int NT>
void q6_k_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_K* const* act,
                         float* const* out) {
  __m256 acc[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ6KPackedBlock;
    __m256i isum[NT], corr[NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) isum[t] = corr[t] = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        // Run k of half h: elements 128h + 32k + (0..31), low bits from ql part k&1 (nibble
        // k>>1), high bits from qh bit pair k; sub-blocks 8h+2k (quads 0-3) and 8h+2k+1.
#pragma GCC unroll 2
        for (int s = 0; s < 2; ++s) {
          const int j = 8 * h + 2 * k + s;
          const __m256i sc = spread_row_bytes<true>(blk + kQ6KPackedScales + 16 * j + 8 * half);
          __m256i w[4];
#pragma GCC unroll 4
          for (int ii = 0; ii < 4; ++ii) {
            const int i = 4 * s + ii;
            __m256i l = load_half(blk + q6k_low_chunk(16 * h + 8 * (k & 1) + i), half);
            __m256i hb = load_half(blk + q6k_high_chunk(8 * h + i), half);
            if (k >> 1) l = _mm256_srli_epi16(l, 4);
            if (k == 0) hb = _mm256_slli_epi16(hb, 4);
            if (k == 1) hb = _mm256_slli_epi16(hb, 2);
            if (k == 3) hb = _mm256_srli_epi16(hb, 2);
            w[ii] = _mm256_or_si256(_mm256_and_si256(l, m4), _mm256_and_si256(hb, m30));
          }
#pragma GCC unroll 8
          for (int t = 0; t < NT; ++t) {
            const int8_t* a = act[t][b].qs + 128 * h + 32 * k + 16 * s;
            const __m256i s01 =
                _mm256_add_epi16(_mm256_maddubs_epi16(w[0], broadcast4_avx2(a)),
                                 _mm256_maddubs_epi16(w[1], broadcast4_avx2(a + 4)));
            const __m256i s23 =
                _mm256_add_epi16(_mm256_maddubs_epi16(w[2], broadcast4_avx2(a + 8)),
                                 _mm256_maddubs_epi16(w[3], broadcast4_avx2(a + 12)));
            isum[t] = _mm256_add_epi32(
                isum[t], _mm256_add_epi32(_mm256_madd_epi16(s01, sc), _mm256_madd_epi16(s23, sc)));
          }
        }
      }
      add_q6_k_correction<NT>(blk, half, h, act, b, corr);
    }
    fold_q6_k_block<NT>(blk, half, act, b, isum, corr, acc);
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, acc[t]);
}

// The same sums for one or two tokens, the whole 16-row group at once, with the weight bits
// unpacked once: per column quad i of a half, the low and high bits give the four runs'
// vectors together (as q6k_tile_few does with 16 rows), and two quads' products add up in
// int16 before the sub-block's pmaddwd. Integer sums are exact, so the order changes nothing.
template <int NT>
void q6_k_group_few_avx2(const uint8_t* group, int64_t nb, const BlockQ8_K* const* act,
                         float* const* out) {
  __m256 acc[2][NT];  // [half][token]
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kQ6KPackedBlock;
    prefetch_ahead<kQ6KPackedBlock>(blk);
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      __m256i isum[NT], corr[NT];
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) isum[t] = corr[t] = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 2
        for (int quarter = 0; quarter < 2; ++quarter) {  // quads 4*quarter..+3
          __m256i sc[4];                                 // run k's sub-block 8h + 2k + quarter
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            sc[k] = spread_row_bytes<true>(blk + kQ6KPackedScales + 16 * (8 * h + 2 * k + quarter) +
                                           8 * half);
          }
#pragma GCC unroll 2
          for (int pair = 0; pair < 2; ++pair) {
            __m256i q[2][4];
#pragma GCC unroll 2
            for (int u = 0; u < 2; ++u) {
              const int i = 4 * quarter + 2 * pair + u;
              const __m256i l0 = load_half(blk + q6k_low_chunk(16 * h + i), half);
              const __m256i l1 = load_half(blk + q6k_low_chunk(16 * h + 8 + i), half);
              const __m256i hb = load_half(blk + q6k_high_chunk(8 * h + i), half);
              q[u][0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                        _mm256_and_si256(_mm256_slli_epi16(hb, 4), m30));
              q[u][1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                        _mm256_and_si256(_mm256_slli_epi16(hb, 2), m30));
              q[u][2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                        _mm256_and_si256(hb, m30));
              q[u][3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                        _mm256_and_si256(_mm256_srli_epi16(hb, 2), m30));
            }
#pragma GCC unroll 8
            for (int t = 0; t < NT; ++t) {
              const int8_t* a = act[t][b].qs + 128 * h + 16 * quarter + 8 * pair;
#pragma GCC unroll 4
              for (int k = 0; k < 4; ++k) {
                const __m256i s16 = _mm256_add_epi16(
                    _mm256_maddubs_epi16(q[0][k], broadcast4_avx2(a + 32 * k)),
                    _mm256_maddubs_epi16(q[1][k], broadcast4_avx2(a + 32 * k + 4)));
                isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(s16, sc[k]));
              }
            }
          }
        }
        add_q6_k_correction<NT>(blk, half, h, act, b, corr);
      }
      fold_q6_k_block<NT>(blk, half, act, b, isum, corr, acc[half]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_ps(out[t], acc[0][t]);
    _mm256_storeu_ps(out[t] + 8, acc[1][t]);
  }
}

}  // namespace
}  // namespace tenbin::kernels::cpu
