// The AVX-512 activation quantizer of the matmul recipe (kernels/ops.h) for Q8_K (per 256
// values, iscale = -127 / the first value of largest magnitude, q = min(127,
// round-half-even(iscale * x)), group sums of 16); Q8_0's is shared by every ISA
// (make_table.h). The same float operations on the same values as kernels/ref, so the
// bits are identical (the op tests compare them). Include only from cpu_avx512.cc.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::cpu {
namespace {

inline __m512 abs_ps(__m512 v) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF)));
}

// round-half-even(v) as int32 (the default rounding mode of the conversion is nearest-even,
// made explicit here).
inline __m512i round_even_epi32(__m512 v) {
  return _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

void quantize_q8_k_avx512(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  constexpr int kChunks = kQKK / 16;
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    __m512 m = _mm512_setzero_ps();
    for (int c = 0; c < kChunks; ++c) m = _mm512_max_ps(m, abs_ps(_mm512_loadu_ps(x + 16 * c)));
    const float amax = _mm512_reduce_max_ps(m);
    if (amax == 0) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    float max = 0;  // the first value whose magnitude is amax, with its sign
    const __m512 vmax = _mm512_set1_ps(amax);
    for (int c = 0; c < kChunks; ++c) {
      const __mmask16 hit =
          _mm512_cmp_ps_mask(abs_ps(_mm512_loadu_ps(x + 16 * c)), vmax, _CMP_EQ_OQ);
      if (hit != 0) {
        max = x[16 * c + __builtin_ctz(hit)];
        break;
      }
    }
    const float iscale = -127.0f / max;
    b[i].d = 1.0f / iscale;
    const __m512 vs = _mm512_set1_ps(iscale);
    const __m512i limit = _mm512_set1_epi32(127);
    for (int c = 0; c < kChunks; ++c) {
      const __m512i q =
          _mm512_min_epi32(round_even_epi32(_mm512_mul_ps(vs, _mm512_loadu_ps(x + 16 * c))), limit);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(b[i].qs + 16 * c), _mm512_cvtepi32_epi8(q));
      b[i].bsums[c] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
    }
  }
}

}  // namespace
}  // namespace tenbin::kernels::cpu
