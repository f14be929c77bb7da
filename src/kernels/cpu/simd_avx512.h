// The AVX-512 (F/BW/VL/DQ + VNNI) vocabulary the shared kernel templates are written in:
// 16-float vectors, and a 32-byte u8 x s8 dot on VNNI's dpbusd (no saturation).
// Include only from cpu_avx512.cc (compiled with the AVX-512 flags).
#pragma once

// GCC 12's AVX-512 headers seed reductions and casts with _mm512_undefined_*(), which
// -Wuninitialized reports at every inlined use (a known false positive). This header is the
// first include of cpu_avx512.cc, so the pragma covers exactly that translation unit.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <bit>
#include <cstdint>

namespace tenbin::kernels::cpu {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int kW = 16;

  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float f) { return _mm512_set1_ps(f); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static V load_bf16(const uint16_t* p) {
    const __m512i w =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  // Each value rounded to the nearest f16 (ties to even) and widened back, as
  // fp16_to_f32(f32_to_fp16(x)) does one value at a time.
  static V round_f16(V v) {
    return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static void store_f16(uint16_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                        _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V round(V a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V pow2(V n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static V swap_pairs(V a) { return _mm512_permute_ps(a, 0xB1); }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
  // lanes[j] = sum over i < n (a multiple of 16), i % 16 == j, in order, of double(x[i] * x[i]).
  static void square_lanes16(const float* x, int64_t n, double* lanes) {
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
      const V v = _mm512_loadu_ps(x + i), sq = _mm512_mul_ps(v, v);
      lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(sq)));
      hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(sq, 1)));
    }
    _mm512_storeu_pd(lanes, lo);
    _mm512_storeu_pd(lanes + 8, hi);
  }
  static float hmax(V v) { return _mm512_reduce_max_ps(v); }

  // Int8 dots of a Q8_0 KV cache's keys (attention_q8_kernels.h). I holds kW int32 lanes, one
  // position each; its four bytes are four consecutive elements of that position's key (values
  // in [-127, 127]). s8_dot adds their products with one query's four elements q4 exactly.
  // dpbusd multiplies u8 by s8, so the keys go in once offset to k + 128 (s8_dot_keys) and the
  // sum starts at -128 times the sum of the query elements it will meet (s8_dot_start).
  using I = __m512i;
  static I load_s8_quads(const void* p) { return _mm512_loadu_si512(p); }
  static I s8_dot_keys(I k) { return _mm512_xor_si512(k, _mm512_set1_epi8(-128)); }
  static I s8_dot_start(int q_sum) { return _mm512_set1_epi32(-128 * q_sum); }
  static I s8_dot(I acc, I keys, I /*raw keys*/, int32_t q4) {
    return _mm512_dpbusd_epi32(acc, keys, _mm512_set1_epi32(q4));
  }
  static V to_float(I v) { return _mm512_cvtepi32_ps(v); }
  // kW int8 values as floats, and floats holding integers in [-127, 127] stored as int8.
  static V load_s8(const int8_t* p) {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static void store_s8(int8_t* p, V v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
  }

  // BF16 pair products of a BF16 KV cache (attention_bf16_kernels.h). A BfVec holds kW 32-bit
  // lanes, each a pair of bf16 values (the even element in the low half); a BfPair is one such
  // pair, the partner every lane meets. bf16_pair_fma adds per lane the odd halves' exact
  // product, then the even halves' (vdpbf16ps, which flushes denormal sums to zero).
  using BfVec = __m512i;
  using BfPair = uint32_t;
  static BfVec load_bf16_pairs(const uint16_t* p) { return _mm512_loadu_si512(p); }
  static BfVec bf16_drop_odd(BfVec v) { return _mm512_and_si512(v, _mm512_set1_epi32(0xFFFF)); }
  static V bf16_pair_fma(V acc, BfVec x, BfPair pair) {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(x),
                            reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(pair))));
  }
  static void bf16_pair_floats(BfPair pair, float* even, float* odd) {
    *even = std::bit_cast<float>(pair << 16);
    *odd = std::bit_cast<float>(pair & 0xFFFF0000u);
  }
  // x[0 .. n-1] (n even) rounded as f32_to_bf16_ftz does, as n / 2 pairs: ties to even, a
  // magnitude below FLT_MIN to +0, NaN kept quiet.
  static void round_bf16_pairs(const float* x, int64_t n, BfPair* out) {
    auto* o = reinterpret_cast<uint16_t*>(out);
    const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF),
                  min_normal = _mm512_set1_epi32(0x800000);
    const __m512i inf = _mm512_set1_epi32(0x7F800000), bias = _mm512_set1_epi32(0x7FFF);
    const __m512i one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x40);
    for (int64_t i = 0; i < n; i += kW) {
      const __mmask16 m = i + kW <= n ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
      const __m512i u = _mm512_maskz_loadu_epi32(m, x + i);
      const __m512i a = _mm512_and_si512(u, abs_mask);
      const __m512i up = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
      __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, up)), 16);
      r = _mm512_mask_or_epi32(r, _mm512_cmpgt_epu32_mask(a, inf), _mm512_srli_epi32(u, 16), quiet);
      r = _mm512_maskz_mov_epi32(_mm512_cmpge_epu32_mask(a, min_normal), r);
      _mm512_mask_cvtepi32_storeu_epi16(o + i, m, r);
    }
  }

  static __m256i mul_sum_u8s8(__m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
  }
  // As mul_sum_u8s8, lanes 0-3 times scale_lo and lanes 4-7 times scale_hi.
  static __m256i mul_sum_u8s8_scaled(__m256i u, __m256i s, int scale_lo, int scale_hi) {
    const __m256i scale = _mm256_set_m128i(_mm_set1_epi32(scale_hi), _mm_set1_epi32(scale_lo));
    return _mm256_mullo_epi32(mul_sum_u8s8(u, s), scale);
  }
};

}  // namespace
}  // namespace tenbin::kernels::cpu
