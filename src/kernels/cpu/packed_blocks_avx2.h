// AVX2 tiles of the 32-column block formats over 16-row packed weights (kernels/packed_layout.h):
// Q4_0, Q8_0 and Q5_0 against Q8_0 activations, Q4_1 and Q5_1 against Q8_1. Each bitwise equals
// its AVX-512 tile (packed_matmul_avx512.h). Include only from packed_matmul_avx2.h.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/packed_avx2_common.h"

namespace tenbin::kernels::cpu {
namespace {

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

}  // namespace
}  // namespace tenbin::kernels::cpu
