// AVX-512 probes: 512-bit streaming loads, 12 independent FMA chains, 12 VNNI dot chains.
// GCC 12 reports false "used uninitialized" warnings inside its own AVX-512 reduction headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/probe/machine_limits.h"

namespace tenbin::kernels {
namespace {

uint64_t read_bytes(const void* data, size_t bytes, size_t prefetch_distance) {
  const __m512i* p = static_cast<const __m512i*>(data);
  const size_t n = bytes / 64;
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (prefetch_distance > 0) {
      const char* ahead = reinterpret_cast<const char*>(p + i) + prefetch_distance;
      _mm_prefetch(ahead, _MM_HINT_T1);
      _mm_prefetch(ahead + 256, _MM_HINT_T1);
    }
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 1));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 2));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 3));
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i + 4));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 5));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 6));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 7));
  }
  for (; i < n; ++i) a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
  __m512i s = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3));
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(reinterpret_cast<__m512i*>(lanes), s);
  uint64_t folded = 0;
  for (uint64_t lane : lanes) folded += lane;  // wraps by design: only a checksum
  return folded;
}

double fma_loop(long iterations) {
  __m512 acc[12];
#pragma GCC unroll 16
  for (int j = 0; j < 12; ++j) acc[j] = _mm512_set1_ps(0.001f * j);
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.0001f);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < 12; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
#pragma GCC unroll 16
  for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, acc[j]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return static_cast<double>(iterations) * 12 * 16 * 2;
}

double int8_dot_loop(long iterations) {
  __m512i acc[12];
#pragma GCC unroll 16
  for (int j = 0; j < 12; ++j) acc[j] = _mm512_set1_epi32(j);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < 12; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
  }
  __m512i s = acc[0];
#pragma GCC unroll 16
  for (int j = 1; j < 12; ++j) s = _mm512_add_epi32(s, acc[j]);
  // The accumulators wrap by design; fold them in unsigned arithmetic (no signed overflow).
  alignas(64) uint32_t lanes[16];
  _mm512_store_si512(reinterpret_cast<__m512i*>(lanes), s);
  uint32_t folded = 0;
  for (uint32_t lane : lanes) folded += lane;
  volatile uint32_t sink = folded;
  (void)sink;
  return static_cast<double>(iterations) * 12 * 64 * 2;
}

// AVX512_BF16 pair dot products (vdpbf16ps), what the packed BF16 matmul issues: 32 products
// per instruction.
double bf16_dot_loop(long iterations) {
  __m512 acc[12];
#pragma GCC unroll 16
  for (int j = 0; j < 12; ++j) acc[j] = _mm512_set1_ps(0.001f * j);
  const __m512bh a = reinterpret_cast<__m512bh>(_mm512_set1_epi16(0x3F80));  // 1.0
  const __m512bh b = reinterpret_cast<__m512bh>(_mm512_set1_epi16(0x3700));  // ~7.6e-6
  for (long i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < 12; ++j) acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
#pragma GCC unroll 16
  for (int j = 1; j < 12; ++j) s = _mm512_add_ps(s, acc[j]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return static_cast<double>(iterations) * 12 * 32 * 2;
}

}  // namespace

ProbeKernels probe_kernels_avx512() {
  return {read_bytes, fma_loop, int8_dot_loop, bf16_dot_loop};
}

}  // namespace tenbin::kernels
