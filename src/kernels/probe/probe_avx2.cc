// AVX2 probes: 256-bit streaming loads, 12 independent FMA chains, 12 maddubs+madd int8 chains.
#include <immintrin.h>

#include "kernels/probe/machine_limits.h"

namespace tenbin::kernels {
namespace {

uint64_t read_bytes(const void* data, size_t bytes, size_t prefetch_distance) {
  const __m256i* p = static_cast<const __m256i*>(data);
  const size_t n = bytes / 32;
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (prefetch_distance > 0) {
      _mm_prefetch(reinterpret_cast<const char*>(p + i) + prefetch_distance, _MM_HINT_T1);
    }
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(p + i));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(p + i + 1));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(p + i + 2));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(p + i + 3));
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(p + i + 4));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(p + i + 5));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(p + i + 6));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(p + i + 7));
  }
  for (; i < n; ++i) a0 = _mm256_add_epi64(a0, _mm256_load_si256(p + i));
  __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

double fma_loop(long iterations) {
  __m256 acc[12];
#pragma GCC unroll 16
  for (int j = 0; j < 12; ++j) acc[j] = _mm256_set1_ps(0.001f * j);
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.0001f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  }
  __m256 s = acc[0];
#pragma GCC unroll 16
  for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, acc[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  volatile float sink = lanes[0];
  (void)sink;
  return static_cast<double>(iterations) * 12 * 8 * 2;
}

double int8_dot_loop(long iterations) {
  __m256i acc[8];
#pragma GCC unroll 16
  for (int j = 0; j < 8; ++j) acc[j] = _mm256_set1_epi32(j);
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < 8; ++j) {
      acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    }
  }
  __m256i s = acc[0];
#pragma GCC unroll 16
  for (int j = 1; j < 8; ++j) s = _mm256_add_epi32(s, acc[j]);
  alignas(32) int lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  volatile int sink = lanes[0];
  (void)sink;
  return static_cast<double>(iterations) * 8 * 32 * 2;
}

}  // namespace

ProbeKernels probe_kernels_avx2() {
  return {read_bytes, fma_loop, int8_dot_loop};
}

}  // namespace tenbin::kernels
