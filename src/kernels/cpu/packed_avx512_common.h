// What the AVX-512 packed tiles (packed_matmul_avx512.h, packed_kquants_avx512.h) share: the
// dpbusd with its activation broadcast folded into the memory operand, and the end of the
// reference's lane order. Include only from those headers (compiled with the AVX-512 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace tenbin::kernels::cpu {
namespace {

// s += dpbusd(w, the four signed bytes at p broadcast to every lane), with the broadcast
// folded into the instruction's memory operand ({1to16}). Compilers keep a separate
// vpbroadcastd for the intrinsic form; the folded one is measured 4% faster in the Q4_0 and
// Q8_0 tiles (one fewer vector uop per dot, and it frees the register). Used by every tile.
inline __m512i dpbusd_bcast(__m512i s, __m512i w, const int8_t* p) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(s) : "v"(w), "m"(*reinterpret_cast<const int32_t*>(p)));
  return s;
}

// The end of the reference's lane order (ref hsum_lanes): the eight column-quad accumulators
// summed as ((q0 + q4) + (q2 + q6)) + ((q1 + q5) + (q3 + q7)), then the side sum added.
inline __m512 sum_quad_lanes(const __m512* q, __m512 side) {
  const __m512 even = _mm512_add_ps(_mm512_add_ps(q[0], q[4]), _mm512_add_ps(q[2], q[6]));
  const __m512 odd = _mm512_add_ps(_mm512_add_ps(q[1], q[5]), _mm512_add_ps(q[3], q[7]));
  return _mm512_add_ps(_mm512_add_ps(even, odd), side);
}

}  // namespace
}  // namespace tenbin::kernels::cpu
