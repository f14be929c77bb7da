// What every AVX2 packed tile (packed_matmul_avx2.h) shares: the token tile sizes, the
// 4-byte activation broadcast, the half-group load of a 64-byte chunk, the per-row scale
// spread for pmaddwd, and the end of the reference's lane order.
// Include only from the AVX2 packed tile headers (compiled with the AVX2 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/packed_tiling.h"

namespace tenbin::kernels::cpu {
namespace {

constexpr int kAvx2TokenTile = 4;
constexpr int kF16Avx2TokenTile = 6;  // 12 accumulators per half, 2 weight columns

inline __m256i broadcast4_avx2(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
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

// The end of the reference's lane order (ref hsum_lanes): the eight column-quad accumulators
// summed as ((q0 + q4) + (q2 + q6)) + ((q1 + q5) + (q3 + q7)), then the side sum added.
inline __m256 sum_quad_lanes_avx2(const __m256* q, __m256 side) {
  const __m256 even = _mm256_add_ps(_mm256_add_ps(q[0], q[4]), _mm256_add_ps(q[2], q[6]));
  const __m256 odd = _mm256_add_ps(_mm256_add_ps(q[1], q[5]), _mm256_add_ps(q[3], q[7]));
  return _mm256_add_ps(_mm256_add_ps(even, odd), side);
}

}  // namespace
}  // namespace tenbin::kernels::cpu
