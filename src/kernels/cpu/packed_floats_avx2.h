// AVX2 tiles of the float formats over 16-row packed weights (kernels/packed_layout.h): F16
// (column after column) and BF16 (column pairs), against activations rounded to the weight's
// type. Each bitwise equals its AVX-512 tile (packed_matmul_avx512.h). Include only from
// packed_matmul_avx2.h.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/packed_avx2_common.h"

namespace tenbin::kernels::cpu {
namespace {

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

}  // namespace
}  // namespace tenbin::kernels::cpu
