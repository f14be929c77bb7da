// The AVX2 (+FMA, F16C) vocabulary the shared kernel templates are written in: 8-float vectors
// and a 32-byte u8 x s8 dot. Include only from cpu_avx2.cc (compiled with -mavx2 -mfma -mf16c).
#pragma once

#include <immintrin.h>

#include <bit>
#include <cstdint>

namespace tenbin::kernels::cpu {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int kW = 8;

  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float f) { return _mm256_set1_ps(f); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V load_bf16(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  // Each value rounded to the nearest f16 (ties to even) and widened back, as
  // fp16_to_f32(f32_to_fp16(x)) does one value at a time.
  static V round_f16(V v) {
    return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static void store_f16(uint16_t* p, V v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a*b + c
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a*b
  static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-126, 127].
  static V pow2(V n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static V swap_pairs(V a) { return _mm256_permute_ps(a, 0xB1); }  // (x1, x0, x3, x2, ...)
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // lanes[j] = sum over i < n (a multiple of 16), i % 16 == j, in order, of double(x[i] * x[i]).
  static void square_lanes16(const float* x, int64_t n, double* lanes) {
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                      _mm256_setzero_pd()};
    for (int64_t i = 0; i < n; i += 16) {
      for (int h = 0; h < 2; ++h) {
        const V v = _mm256_loadu_ps(x + i + 8 * h), sq = _mm256_mul_ps(v, v);
        acc[2 * h] = _mm256_add_pd(acc[2 * h], _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
        acc[2 * h + 1] =
            _mm256_add_pd(acc[2 * h + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
      }
    }
    for (int q = 0; q < 4; ++q) _mm256_storeu_pd(lanes + 4 * q, acc[q]);
  }
  static float hmax(V v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // Int8 dots of a Q8_0 KV cache's keys (attention_q8_kernels.h). I holds kW int32 lanes, one
  // position each; its four bytes are four consecutive elements of that position's key (values
  // in [-127, 127]). s8_dot adds their products with one query's four elements q4 exactly:
  // |k| (s8_dot_keys, once per load) times q with k's sign, whose int16 pair sums stay below
  // 2 * 127 * 127 (maddubs does not saturate), summed in int32.
  using I = __m256i;
  static I load_s8_quads(const void* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static I s8_dot_keys(I k) { return _mm256_abs_epi8(k); }
  static I s8_dot_start(int /*q_sum*/) { return _mm256_setzero_si256(); }
  static I s8_dot(I acc, I keys, I raw_keys, int32_t q4) {
    const I q = _mm256_sign_epi8(_mm256_set1_epi32(q4), raw_keys);
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(keys, q), _mm256_set1_epi16(1)));
  }
  static V to_float(I v) { return _mm256_cvtepi32_ps(v); }
  // kW int8 values as floats, and floats holding integers in [-127, 127] stored as int8.
  static V load_s8(const int8_t* p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static void store_s8(int8_t* p, V v) {
    const __m256i i32 = _mm256_cvtps_epi32(v);
    const __m128i i16 =
        _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi16(i16, i16));
  }

  // BF16 pair products of a BF16 KV cache (attention_bf16_kernels.h), as Avx512's: a BfVec is
  // kW pairs split into their even and odd halves widened to f32 (a bf16 value is the top half
  // of an f32), a BfPair one partner pair as two floats; bf16_pair_fma adds the odd product,
  // then the even one, by two fmas (exact products, each sum rounded, as vdpbf16ps).
  struct BfVec {
    V even, odd;
  };
  struct BfPair {
    float even, odd;
  };
  static BfVec load_bf16_pairs(const uint16_t* p) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return {_mm256_castsi256_ps(_mm256_slli_epi32(x, 16)),
            _mm256_castsi256_ps(_mm256_and_si256(x, _mm256_set1_epi32(-65536)))};
  }
  static BfVec bf16_drop_odd(BfVec v) { return {v.even, zero()}; }
  static V bf16_pair_fma(V acc, const BfVec& x, BfPair pair) {
    return fmadd(x.even, set1(pair.even), fmadd(x.odd, set1(pair.odd), acc));
  }
  static void bf16_pair_floats(BfPair pair, float* even, float* odd) {
    *even = pair.even;
    *odd = pair.odd;
  }
  // x[0 .. n-1] (n even) rounded as f32_to_bf16_ftz does (ties to even, a magnitude below
  // FLT_MIN to +0, NaN kept quiet), as n / 2 pairs of floats.
  static void round_bf16_pairs(const float* x, int64_t n, BfPair* out) {
    auto* o = reinterpret_cast<float*>(out);
    const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF),
                  min_normal = _mm256_set1_epi32(0x800000);
    const __m256i inf = _mm256_set1_epi32(0x7F800000), bias = _mm256_set1_epi32(0x7FFF);
    const __m256i one = _mm256_set1_epi32(1), quiet = _mm256_set1_epi32(0x400000);
    const __m256i high = _mm256_set1_epi32(-65536);
    int64_t i = 0;
    auto round8 = [&](__m256i u) {
      const __m256i a = _mm256_and_si256(u, abs_mask);
      const __m256i up = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
      __m256i r = _mm256_and_si256(_mm256_add_epi32(u, _mm256_add_epi32(bias, up)), high);
      const __m256i nan = _mm256_cmpgt_epi32(a, inf);
      r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_and_si256(u, high), quiet), nan);
      return _mm256_andnot_si256(_mm256_cmpgt_epi32(min_normal, a), r);
    };
    for (; i + kW <= n; i += kW) {
      const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
      _mm256_storeu_ps(o + i, _mm256_castsi256_ps(round8(u)));
    }
    if (i < n) {
      alignas(32) float tail[kW] = {};
      for (int64_t j = i; j < n; ++j) tail[j - i] = x[j];
      alignas(32) float done[kW];
      _mm256_store_ps(done, _mm256_castsi256_ps(
                                round8(_mm256_load_si256(reinterpret_cast<const __m256i*>(tail)))));
      for (int64_t j = i; j < n; ++j) o[j] = done[j - i];
    }
  }

  // Eight int32 sums of adjacent u8*s8 quadruples. maddubs saturates its int16 pair sums, so
  // callers keep u <= 128 and |s| <= 127 (2*128*127 < 32767).
  static __m256i mul_sum_u8s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  }
  // As mul_sum_u8s8, lanes 0-3 times scale_lo and lanes 4-7 times scale_hi (|scale| < 2^15;
  // the int16 pair sums times the scale are summed exactly in int32).
  static __m256i mul_sum_u8s8_scaled(__m256i u, __m256i s, int scale_lo, int scale_hi) {
    const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(scale_hi)),
                                           _mm_set1_epi16(static_cast<int16_t>(scale_lo)));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale);
  }
};

}  // namespace
}  // namespace tenbin::kernels::cpu
