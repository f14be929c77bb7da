// AVX2 matmul over 16-row packed weights of every type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K,
// F16, BF16)
// (kernels/packed_layout.h). A group is run as two halves of 8 rows (one 32-bit lane per row of
// a 256-bit vector) over tiles of up to 4 tokens (6 for F16), so every unpacked weight vector
// is reused from registers by the tile's tokens; one or two tokens (decode) run the whole group
// per block. Integer dots are exact: pmaddubsw of unsigned weights (Q8_0: |q| against the
// activation with q's sign) with the activation bytes gives int16 pair sums, added in int16
// only as far as they cannot overflow, then one pmaddwd widens them (times the sub-block scale
// for the K-quants). The float steps are those of the AVX-512 tiles (packed_matmul_avx512.h) in
// the same order, so results are batch invariant and bitwise equal to the AVX-512 ones.
// Include only from cpu_avx2.cc (compiled with the AVX2 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/packed_tiling.h"
#include "kernels/kernel_table.h"

namespace tenbin::kernels::cpu {
namespace {

constexpr int kAvx2TokenTile = 4;
constexpr int kF16Avx2TokenTile = 6;  // 12 accumulators per half, 2 weight columns

inline __m256i broadcast4_avx2(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Rows 8*half..8*half+7 of a packed Q4_0 group against NT tokens' Q8_0 blocks. The stored
// nibbles (0..15) times |a| <= 128 give pair sums of at most 3840, so the 8 column quads of a
// block add up in int16 (at most 30720); the -8*sum(a) correction comes with the activation
// block.
template <int NT>
void q4_0_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_0* const* act,
                         const ActBlockInfo* const* info, float* const* out) {
  constexpr int64_t kBlockBytes = 16 * 18;
  __m256 acc[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
    __m256i w[8];  // w[j] multiplies activation columns 4j..4j+3
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m256i raw =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32 + 64 * c + 32 * half));
      w[c] = _mm256_and_si256(raw, m4);
      w[c + 4] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const int8_t* a = act[t][b].qs;
      __m256i s16 = _mm256_maddubs_epi16(w[0], broadcast4_avx2(a));
#pragma GCC unroll 8
      for (int j = 1; j < 8; ++j) {
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(w[j], broadcast4_avx2(a + 4 * j)));
      }
      const __m256i s =
          _mm256_add_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(info[t][b].bias));
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(info[t][b].d));
      acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, acc[t]);
}

// The same sums for one or two tokens, the whole 16-row group per block: each activation quad
// is broadcast once for both halves, and the block two on is asked into L2 first (decode reads
// each weight once, so it waits on memory unless the next blocks are already coming).
template <int NT>
void q4_0_group_few_avx2(const uint8_t* group, int64_t nb, const BlockQ8_0* const* act,
                         const ActBlockInfo* const* info, float* const* out) {
  constexpr int64_t kBlockBytes = 16 * 18;
  __m256 acc[2][NT];  // [half][token]
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    prefetch_ahead<kBlockBytes, 4096>(blk);  // 4 KiB on: 1 thread +7% over 2 KiB (tg64)
    __m256i w[2][8];  // [half][j]: w[.][j] multiplies activation columns 4j..4j+3
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m256i raw =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32 + 64 * c + 32 * half));
        w[half][c] = _mm256_and_si256(raw, m4);
        w[half][c + 4] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const int8_t* a = act[t][b].qs;
      __m256i s16[2];
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m256i av = broadcast4_avx2(a + 4 * j);
#pragma GCC unroll 2
        for (int half = 0; half < 2; ++half) {
          const __m256i p = _mm256_maddubs_epi16(w[half][j], av);
          s16[half] = j == 0 ? p : _mm256_add_epi16(s16[half], p);
        }
      }
      const __m256i bias = _mm256_set1_epi32(info[t][b].bias);
      const __m256 da = _mm256_set1_ps(info[t][b].d);
#pragma GCC unroll 2
      for (int half = 0; half < 2; ++half) {
        const __m256 dw =
            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
        const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(s16[half], ones), bias);
        acc[half][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(s), acc[half][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_ps(out[t], acc[0][t]);
    _mm256_storeu_ps(out[t] + 8, acc[1][t]);
  }
}

// Q8_0 (stored q+128, kernels/packed_layout.h): u8 x s8 pmaddubsw cannot take the biased bytes
// (255 x 127 x 2 overflows int16), so the tiles take the signed weight q back (XOR 0x80) and
// multiply |q| by the activation with q's sign (sign_epi8): pair sums of at most 2 x 128 x 127
// = 32512, widened by pmaddwd per column quad. The sum is the exact dot, as the AVX-512 tile's
// biased dot plus its correction; then its float step.
inline __m256i q8_0_quad_dot(__m256i abs_q, __m256i q, __m256i a, __m256i ones) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_q, _mm256_sign_epi8(a, q)), ones);
}

// Rows 8*half..8*half+7 of a packed Q8_0 group against NT tokens' Q8_0 blocks.
template <int NT>
void q8_0_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_0* const* act,
                         const ActBlockInfo* const* info, float* const* out) {
  constexpr int64_t kBlockBytes = 16 * 34;
  __m256 acc[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    __m256i s[NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) s[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {  // columns 4j..4j+3
      const __m256i q = _mm256_xor_si256(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32 + 64 * j + 32 * half)),
          flip);
      const __m256i abs_q = _mm256_abs_epi8(q);
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        s[t] = _mm256_add_epi32(
            s[t], q8_0_quad_dot(abs_q, q, broadcast4_avx2(act[t][b].qs + 4 * j), ones));
      }
    }
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(info[t][b].d));
      acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s[t]), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, acc[t]);
}

// The same sums for one or two tokens, the whole group per block (each activation quad
// broadcast once for both halves).
template <int NT>
void q8_0_group_few_avx2(const uint8_t* group, int64_t nb, const BlockQ8_0* const* act,
                         const ActBlockInfo* const* info, float* const* out) {
  constexpr int64_t kBlockBytes = 16 * 34;
  __m256 acc[2][NT];  // [half][token]
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    __m256i s[2][NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) s[0][t] = s[1][t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m256i q[2], abs_q[2];
#pragma GCC unroll 2
      for (int half = 0; half < 2; ++half) {
        q[half] = _mm256_xor_si256(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32 + 64 * j + 32 * half)),
            flip);
        abs_q[half] = _mm256_abs_epi8(q[half]);
      }
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        const __m256i a = broadcast4_avx2(act[t][b].qs + 4 * j);
#pragma GCC unroll 2
        for (int half = 0; half < 2; ++half) {
          s[half][t] = _mm256_add_epi32(s[half][t], q8_0_quad_dot(abs_q[half], q[half], a, ones));
        }
      }
    }
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      const __m256 dw =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(info[t][b].d));
        acc[half][t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s[half][t]), acc[half][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_ps(out[t], acc[0][t]);
    _mm256_storeu_ps(out[t] + 8, acc[1][t]);
  }
}

// The 32 bytes of a 64-byte chunk that belong to rows 8*half..8*half+7.
inline __m256i load_half(const uint8_t* chunk, int half) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(chunk + 32 * half));
}

// The 8 bytes at p (one per row of the half) widened to int16 (signed or not) and each put
// in both halves of its row's 32-bit lane, so pmaddwd multiplies a pair sum by it.
template <bool kSigned>
inline __m256i spread_row_bytes(const uint8_t* p) {
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  const __m128i w = kSigned ? _mm_cvtepi8_epi16(b) : _mm_cvtepu8_epi16(b);
  const __m256i dup = _mm256_setr_epi8(0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9, 8, 9,
                                       10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15);
  return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(w), dup);
}

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

// The end of the reference's lane order (ref hsum_lanes): the eight column-quad accumulators
// summed as ((q0 + q4) + (q2 + q6)) + ((q1 + q5) + (q3 + q7)), then the side sum added.
inline __m256 sum_quad_lanes_avx2(const __m256* q, __m256 side) {
  const __m256 even = _mm256_add_ps(_mm256_add_ps(q[0], q[4]), _mm256_add_ps(q[2], q[6]));
  const __m256 odd = _mm256_add_ps(_mm256_add_ps(q[1], q[5]), _mm256_add_ps(q[3], q[7]));
  return _mm256_add_ps(_mm256_add_ps(even, odd), side);
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

// F16: rows 8*half..8*half+7 of a packed group (kernels/packed_layout.h: column after column,
// 16 rows' f16 values each) against NT tokens' activations, already rounded to f16. Even
// columns are summed by fma into one accumulator and odd columns into another, added last: the
// AVX-512 f16_tile's operations lane by lane, so the results are bitwise equal.
template <int NT>
void f16_half_tile_avx2(const uint16_t* group, int64_t cols, int half, const float* const* x,
                        float* const* out) {
  __m256 a0[NT], a1[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) a0[t] = a1[t] = _mm256_setzero_ps();
  auto column = [group, half](int64_t k) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + k * kPackRows + 8 * half)));
  };
  int64_t k = 0;
  for (; k + 2 <= cols; k += 2) {
    const __m256 w0 = column(k), w1 = column(k + 1);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      a0[t] = _mm256_fmadd_ps(w0, _mm256_set1_ps(x[t][k]), a0[t]);
      a1[t] = _mm256_fmadd_ps(w1, _mm256_set1_ps(x[t][k + 1]), a1[t]);
    }
  }
  if (k < cols) {
    const __m256 w0 = column(k);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) a0[t] = _mm256_fmadd_ps(w0, _mm256_set1_ps(x[t][k]), a0[t]);
  }
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, _mm256_add_ps(a0[t], a1[t]));
}

// The same sums for one or two tokens over both halves at once (each activation broadcast
// once), asking the columns 2 KiB on into L2 every 256 bytes (decode reads each weight once).
template <int NT>
void f16_group_few_avx2(const uint16_t* group, int64_t cols, const float* const* x,
                        float* const* out) {
  __m256 a0[2][NT], a1[2][NT];  // [half][token]
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) a0[0][t] = a0[1][t] = a1[0][t] = a1[1][t] = _mm256_setzero_ps();
  auto column = [group](int64_t k, int half) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + k * kPackRows + 8 * half)));
  };
  int64_t k = 0;
  for (; k + 2 <= cols; k += 2) {
    if (k % 8 == 0) {
      _mm_prefetch(reinterpret_cast<const char*>(group + (k + 64) * kPackRows), _MM_HINT_T1);
    }
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      const __m256 w0 = column(k, half), w1 = column(k + 1, half);
#pragma GCC unroll 2
      for (int t = 0; t < NT; ++t) {
        a0[half][t] = _mm256_fmadd_ps(w0, _mm256_set1_ps(x[t][k]), a0[half][t]);
        a1[half][t] = _mm256_fmadd_ps(w1, _mm256_set1_ps(x[t][k + 1]), a1[half][t]);
      }
    }
  }
#pragma GCC unroll 2
  for (int half = 0; half < 2; ++half) {
    if (k < cols) {
      const __m256 w0 = column(k, half);
#pragma GCC unroll 2
      for (int t = 0; t < NT; ++t) {
        a0[half][t] = _mm256_fmadd_ps(w0, _mm256_set1_ps(x[t][k]), a0[half][t]);
      }
    }
#pragma GCC unroll 2
    for (int t = 0; t < NT; ++t) {
      _mm256_storeu_ps(out[t] + 8 * half, _mm256_add_ps(a0[half][t], a1[half][t]));
    }
  }
}

// The eight weight vectors (rows of `half`) of a packed Q4_1/Q5_0/Q5_1 block from its nibble
// chunks at q (and, for Q5_0/Q5_1, the fifth-bit chunk after them): w[j] holds columns
// 4j..4j+3 as u8 levels.
template <DType T>
inline void nibble_weights_avx2(const uint8_t* q, int half, __m256i* w) {
  constexpr bool kFive = T == DType::kQ5_0 || T == DType::kQ5_1;
  const __m256i m4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
  const __m256i high = kFive ? load_half(q + 4 * 64, half) : _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m256i raw = load_half(q + 64 * c, half);
    w[c] = _mm256_and_si256(raw, m4);
    w[c + 4] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    if constexpr (kFive) {  // bit 2c (low nibbles) and 2c+1 (high nibbles) moved to bit 4
      const __m256i lo_bit =
          c <= 2 ? _mm256_slli_epi16(high, 4 - 2 * c) : _mm256_srli_epi16(high, 2 * c - 4);
      const __m256i hi_bit =
          c <= 1 ? _mm256_slli_epi16(high, 3 - 2 * c) : _mm256_srli_epi16(high, 2 * c - 3);
      w[c] = _mm256_or_si256(w[c], _mm256_and_si256(lo_bit, bit4));
      w[c + 4] = _mm256_or_si256(w[c + 4], _mm256_and_si256(hi_bit, bit4));
    }
  }
}

// Rows 8*half..8*half+7 of a packed Q5_0 group against NT tokens' Q8_0 blocks, the AVX-512
// tile's float steps. Levels 0..31 times |a| <= 128 give pair sums up to 7936, so the column
// quads add up in int16 four at a time before pmaddwd widens them.
template <int NT>
void q5_0_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_0* const* act,
                         const ActBlockInfo* const* info, float* const* out) {
  constexpr int64_t kBlockBytes = 16 * 22;
  __m256 acc[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
    __m256i w[8];
    nibble_weights_avx2<DType::kQ5_0>(blk + 32, half, w);
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const int8_t* a = act[t][b].qs;
      __m256i s16[2];
#pragma GCC unroll 2
      for (int k = 0; k < 2; ++k) {
        s16[k] = _mm256_maddubs_epi16(w[4 * k], broadcast4_avx2(a + 16 * k));
#pragma GCC unroll 4
        for (int j = 1; j < 4; ++j) {
          s16[k] = _mm256_add_epi16(
              s16[k], _mm256_maddubs_epi16(w[4 * k + j], broadcast4_avx2(a + 16 * k + 4 * j)));
        }
      }
      const __m256i s = _mm256_add_epi32(
          _mm256_add_epi32(_mm256_madd_epi16(s16[0], ones), _mm256_madd_epi16(s16[1], ones)),
          _mm256_set1_epi32(info[t][b].bias));
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(info[t][b].d));
      acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, acc[t]);
}

// Rows 8*half..8*half+7 of a packed Q4_1/Q5_1 group against NT tokens' Q8_1 blocks, in the
// AVX-512 tile's (and the reference's) order: one f32 accumulator per column quad, the offsets
// rounded and summed on the side, the same final sum.
template <DType T, int NT>
void offset_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_1* const* act,
                           const Q8_1Scales* const* scales, float* const* out) {
  constexpr int64_t kBlockBytes = T == DType::kQ4_1 ? 16 * 20 : 16 * 24;
  __m256 acc[NT][8], offsets[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    offsets[t] = _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) acc[t][k] = _mm256_setzero_ps();
  }
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
    const __m256 mw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 32 + 16 * half)));
    __m256i w[8];
    nibble_weights_avx2<T>(blk + 64, half, w);
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const int8_t* a = act[t][b].qs;
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(scales[t][b].d));
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m256i dot =
            _mm256_madd_epi16(_mm256_maddubs_epi16(w[k], broadcast4_avx2(a + 4 * k)), ones);
        acc[t][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), d, acc[t][k]);
      }
      __m256 offset = _mm256_mul_ps(mw, _mm256_set1_ps(scales[t][b].s));
      asm("" : "+x"(offset));  // rounded before the add, as the reference
      offsets[t] = _mm256_add_ps(offsets[t], offset);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_ps(out[t] + 8 * half, sum_quad_lanes_avx2(acc[t], offsets[t]));
  }
}

// One column pair of a packed BF16 group for the rows of `half`, split into the odd and the
// even column's eight f32 weights (a bf16 value is the top half of an f32).
inline void bf16_pair_avx2(const uint8_t* chunk, int half, __m256* odd, __m256* even) {
  const __m256i w = load_half(chunk, half);
  *odd = _mm256_castsi256_ps(_mm256_and_si256(w, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
  *even = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

// acc += the pair's odd product, then its even one (vdpbf16ps's order; a product of two bf16
// values is exact in f32, so each fma rounds as the instruction's add does).
inline __m256 bf16_pair_fma(__m256 odd, __m256 even, const float* x_pair, __m256 acc) {
  acc = _mm256_fmadd_ps(odd, _mm256_broadcast_ss(x_pair + 1), acc);
  return _mm256_fmadd_ps(even, _mm256_broadcast_ss(x_pair), acc);
}

// Rows 8*half..8*half+7 of a packed BF16 group against NT tokens' bf16-rounded activations,
// the AVX-512 tile's steps: even pairs into one accumulator, odd pairs into another, added
// last. Bitwise the AVX-512 tile.
template <int NT>
void bf16_half_tile_avx2(const uint8_t* group, int64_t pairs, int half, const float* const* x,
                         float* const* out) {
  __m256 a0[NT], a1[NT];
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) a0[t] = a1[t] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 2 <= pairs; p += 2) {
    __m256 odd0, even0, odd1, even1;
    bf16_pair_avx2(group + 64 * p, half, &odd0, &even0);
    bf16_pair_avx2(group + 64 * (p + 1), half, &odd1, &even1);
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      a0[t] = bf16_pair_fma(odd0, even0, x[t] + 2 * p, a0[t]);
      a1[t] = bf16_pair_fma(odd1, even1, x[t] + 2 * p + 2, a1[t]);
    }
  }
  if (p < pairs) {
    __m256 odd0, even0;
    bf16_pair_avx2(group + 64 * p, half, &odd0, &even0);
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) a0[t] = bf16_pair_fma(odd0, even0, x[t] + 2 * p, a0[t]);
  }
#pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, _mm256_add_ps(a0[t], a1[t]));
}

// The same sums for one or two tokens, both halves per pair: four or eight independent chains
// instead of two (the fma latency bounds one token's two chains).
template <int NT>
void bf16_group_few_avx2(const uint8_t* group, int64_t pairs, const float* const* x,
                         float* const* out) {
  __m256 a0[2][NT], a1[2][NT];  // [half][token]
#pragma GCC unroll 2
  for (int t = 0; t < NT; ++t) a0[0][t] = a0[1][t] = a1[0][t] = a1[1][t] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 2 <= pairs; p += 2) {
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      __m256 odd0, even0, odd1, even1;
      bf16_pair_avx2(group + 64 * p, half, &odd0, &even0);
      bf16_pair_avx2(group + 64 * (p + 1), half, &odd1, &even1);
#pragma GCC unroll 2
      for (int t = 0; t < NT; ++t) {
        a0[half][t] = bf16_pair_fma(odd0, even0, x[t] + 2 * p, a0[half][t]);
        a1[half][t] = bf16_pair_fma(odd1, even1, x[t] + 2 * p + 2, a1[half][t]);
      }
    }
  }
#pragma GCC unroll 2
  for (int half = 0; half < 2; ++half) {
    if (p < pairs) {
      __m256 odd0, even0;
      bf16_pair_avx2(group + 64 * p, half, &odd0, &even0);
#pragma GCC unroll 2
      for (int t = 0; t < NT; ++t) {
        a0[half][t] = bf16_pair_fma(odd0, even0, x[t] + 2 * p, a0[half][t]);
      }
    }
#pragma GCC unroll 2
    for (int t = 0; t < NT; ++t) {
      _mm256_storeu_ps(out[t] + 8 * half, _mm256_add_ps(a0[half][t], a1[half][t]));
    }
  }
}

// The shared driver of the packed AVX2 matmuls: fn(group, first_token, tokens, act_rows,
// info_rows, out_rows) over every 16-row group and token tile.
template <int Tile = kAvx2TokenTile, class Act, class Info, class Fn>
void for_each_avx2_tile(const MatrixView& w, int64_t nb, const Act* act, const Info* info,
                        int64_t n_tokens, float* y, ThreadPool& pool, Fn&& fn) {
  for_each_group_tile<Tile>(w.rows / kPackRows, n_tokens, pool, [&](int64_t g, int64_t t0, int nt) {
    const Act* act_rows[Tile];
    const Info* info_rows[Tile];
    float* out_rows[Tile];
#pragma GCC unroll 8
    for (int i = 0; i < nt; ++i) {
      act_rows[i] = act + (t0 + i) * nb;
      info_rows[i] = info == nullptr ? nullptr : info + (t0 + i) * nb;
      out_rows[i] = y + (t0 + i) * w.rows + g * kPackRows;
    }
    fn(g, nt, act_rows, info_rows, out_rows);
  });
}

void packed16_matmul_k_avx2(const KernelTable& table, const MatrixView& w, const float* x,
                            int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t nb = w.cols / kQKK;
  const PackedQ8KActivations q8 = quantize_packed_q8_k(
      table.quantize_act[static_cast<size_t>(DType::kQ8_K)], x, n_tokens, w.cols, pool);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const bool q4 = w.type == DType::kQ4_K, q5 = w.type == DType::kQ5_K;
  const bool q2 = w.type == DType::kQ2_K, q3 = w.type == DType::kQ3_K;
  int64_t block_bytes = kQ6KPackedBlock;
  if (q2) block_bytes = kQ2KPackedBlock;
  if (q3) block_bytes = kQ3KPackedBlock;
  if (q4) block_bytes = kQ4KPackedBlock;
  if (q5) block_bytes = kQ5KPackedBlock;
  const int64_t group_bytes = nb * block_bytes;
  for_each_avx2_tile(
      w, nb, q8.blocks, q8.info, n_tokens, y, pool,
      [&](int64_t g, int nt, const BlockQ8_K* const* act, const Q4KActInfo* const* info,
          float* const* out) {
        with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
          constexpr int kN = decltype(n)::value;
          const uint8_t* group = base + g * group_bytes;
          if (q5 || q2 || q3) {  // one half-tile kernel for every token count
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
              if (q5) {
                q5_k_half_tile_avx2<kN>(group, nb, half, act, info, out);
              } else if (q2) {
                k2_half_tile_avx2<false, kN>(group, nb, half, act, out);
              } else {
                k2_half_tile_avx2<true, kN>(group, nb, half, act, out);
              }
            }
          } else if constexpr (kN <= 2) {  // decode: the whole group per block, bits unpacked once
            if (q4) {
              q4_k_group_few_avx2<kN>(group, nb, act, info, out);
            } else {
              q6_k_group_few_avx2<kN>(group, nb, act, out);
            }
          } else {
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
              if (q4) {
                q4_k_half_tile_avx2<kN>(group, nb, half, act, info, out);
              } else {
                q6_k_half_tile_avx2<kN>(group, nb, half, act, out);
              }
            }
          }
        });
      });
}

// Q4_0, Q5_0 and Q8_0 against Q8_0 activations.
void packed16_matmul_q8_avx2(const KernelTable& table, const MatrixView& w, const float* x,
                             int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t nb = w.cols / kQK;
  const PackedQ8Activations q8 =
      quantize_packed_q8_0(table.quantize_act[static_cast<size_t>(DType::kQ8_0)], x, n_tokens,
                           w.cols, packed16_weight_bias(w.type), pool);
  const int64_t group_bytes = nb * packed16_block_bytes(w.type);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const bool q4 = w.type == DType::kQ4_0, q5 = w.type == DType::kQ5_0;
  for_each_avx2_tile(w, nb, q8.blocks, q8.info, n_tokens, y, pool,
                     [&](int64_t g, int nt, const BlockQ8_0* const* act,
                         const ActBlockInfo* const* info, float* const* out) {
                       with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
                         constexpr int kN = decltype(n)::value;
                         const uint8_t* group = base + g * group_bytes;
                         if (q5) {  // one half-tile kernel for every token count
#pragma GCC unroll 2
                           for (int half = 0; half < 2; ++half) {
                             q5_0_half_tile_avx2<kN>(group, nb, half, act, info, out);
                           }
                         } else if constexpr (kN <= 2) {  // decode: the whole group per block
                           if (q4) {
                             q4_0_group_few_avx2<kN>(group, nb, act, info, out);
                           } else {
                             q8_0_group_few_avx2<kN>(group, nb, act, info, out);
                           }
                         } else {
#pragma GCC unroll 2
                           for (int half = 0; half < 2; ++half) {
                             if (q4) {
                               q4_0_half_tile_avx2<kN>(group, nb, half, act, info, out);
                             } else {
                               q8_0_half_tile_avx2<kN>(group, nb, half, act, info, out);
                             }
                           }
                         }
                       });
                     });
}

// Q4_1 and Q5_1 against Q8_1 activations.
void packed16_matmul_offset_avx2(const KernelTable& table, const MatrixView& w, const float* x,
                                 int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t nb = w.cols / kQK;
  const PackedQ8_1Activations q8 = quantize_packed_q8_1(
      table.quantize_act[static_cast<size_t>(DType::kQ8_1)], x, n_tokens, w.cols, pool);
  const int64_t group_bytes = nb * packed16_block_bytes(w.type);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const bool q4 = w.type == DType::kQ4_1;
  for_each_avx2_tile(w, nb, q8.blocks, q8.scales, n_tokens, y, pool,
                     [&](int64_t g, int nt, const BlockQ8_1* const* a, const Q8_1Scales* const* sc,
                         float* const* out) {
                       with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
                         constexpr int kN = decltype(n)::value;
                         const uint8_t* group = base + g * group_bytes;
#pragma GCC unroll 2
                         for (int half = 0; half < 2; ++half) {
                           if (q4) {
                             offset_half_tile_avx2<DType::kQ4_1, kN>(group, nb, half, a, sc, out);
                           } else {
                             offset_half_tile_avx2<DType::kQ5_1, kN>(group, nb, half, a, sc, out);
                           }
                         }
                       });
                     });
}

// BF16 against the activations rounded to bf16 (round_packed_bf16_floats).
void packed16_matmul_bf16_avx2(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                               ThreadPool& pool) {
  const float* xb = round_packed_bf16_floats(x, n_tokens, w.cols, pool);
  const int64_t pairs = w.cols / 2;
  const auto* base = static_cast<const uint8_t*>(w.data);
  for_each_avx2_tile(
      w, w.cols, xb, static_cast<const int*>(nullptr), n_tokens, y, pool,
      [&](int64_t g, int nt, const float* const* x_rows, const int* const*, float* const* out) {
        with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
          constexpr int kN = decltype(n)::value;
          const uint8_t* group = base + g * kPackRows * w.cols * 2;
          if constexpr (kN <= 2) {  // decode: both halves per pair
            bf16_group_few_avx2<kN>(group, pairs, x_rows, out);
          } else {
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
              bf16_half_tile_avx2<kN>(group, pairs, half, x_rows, out);
            }
          }
        });
      });
}

// Against the activations rounded to f16 (round_packed_f16_activations).
void packed16_matmul_f16_avx2(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                              ThreadPool& pool) {
  const float* xh = round_packed_f16_activations(x, n_tokens, w.cols, pool);
  const auto* base = static_cast<const uint16_t*>(w.data);
  for_each_avx2_tile<kF16Avx2TokenTile>(
      w, w.cols, xh, static_cast<const float*>(nullptr), n_tokens, y, pool,
      [&](int64_t g, int nt, const float* const* x_rows, const float* const*, float* const* out) {
        with_tile_size<kF16Avx2TokenTile>(nt, [&](auto n) {
          constexpr int kN = decltype(n)::value;
          const uint16_t* group = base + g * kPackRows * w.cols;
          if constexpr (kN <= 2) {  // decode: both halves per column
            f16_group_few_avx2<kN>(group, w.cols, x_rows, out);
          } else {
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
              f16_half_tile_avx2<kN>(group, w.cols, half, x_rows, out);
            }
          }
        });
      });
}

}  // namespace
}  // namespace tenbin::kernels::cpu
