// Integer dots of quantized weight rows with quantized activation rows, written once against a
// SIMD vocabulary S: Q8_0, Q4_0 and Q5_0 against Q8_0 activations, Q4_1 and Q5_1 against Q8_1,
// the K formats (Q2_K..Q6_K) against Q8_K. They work on 32-byte vectors in every ISA;
// S::mul_sum_u8s8 is where AVX2 and AVX-512 VNNI differ. Q4_1, Q5_1, Q2_K, Q3_K and Q5_K follow
// the reference's order of float operations and equal it bit for bit.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/float_kernels.h"
#include "kernels/kernel_table.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::cpu {
namespace {

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

inline float hsum_f32(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256i load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// 32 bytes of nibbles -> (low nibbles, high nibbles), each as 32 u8 in 0..15.
inline void split_nibbles(__m256i b, __m256i* lo, __m256i* hi) {
  const __m256i m = _mm256_set1_epi8(0x0F);
  *lo = _mm256_and_si256(b, m);
  *hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), m);
}

// s8 x s8 via the u8 x s8 primitive: |w| * (a with w's sign). |w| <= 128, |a| <= 127.
template <class S>
__m256i mul_sum_s8s8(__m256i w, __m256i a) {
  return S::mul_sum_u8s8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}

// `v` as a rounded f32 value: the compiler may not fuse the product that made it into a later
// add (GCC contracts a*b + c into an fma across statements where FMA is enabled; a reference
// recipe that rounds the product first needs this to be matched bit for bit).
inline float rounded(float v) {
  asm("" : "+x"(v));
  return v;
}

// f16 scale as f32 through F16C (exact, like fp16_to_f32, without its branches).
inline float half_to_float(uint16_t h) {
  return _cvtsh_ss(h);
}

// acc + (d_w * d_a) * dot(w, a): one Q8_0-activation block, the dot exact in int32 lanes.
template <class S>
inline __m256 q8_block(__m256i w_s8, uint16_t w_d, const BlockQ8_0& a, __m256 acc) {
  const __m256i p = mul_sum_s8s8<S>(w_s8, load32(a.qs));
  const __m256 d = _mm256_set1_ps(half_to_float(w_d) * half_to_float(a.d));
  return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);
}

// The 32 signed weights of a Q4_0 block: low nibbles are elements 0..15, high ones 16..31.
inline __m256i q4_0_weights(const BlockQ4_0& w) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs));
  const __m128i m4 = _mm_set1_epi8(0x0F);
  const __m128i lo = _mm_and_si128(raw, m4);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
  return _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
}

inline __m256i q8_0_weights(const BlockQ8_0& w) {
  return load32(w.qs);
}

// Byte j of the result is 0x10 where bit j of `bits` is set, 0 elsewhere.
inline __m256i bits_to_bit4(uint32_t bits) {
  const __m256i which_byte = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                               0x0101010101010101, 0x0000000000000000);
  const __m256i bit_of_byte = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), which_byte);
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit_of_byte), bit_of_byte);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// The 32 unsigned levels of a Q4_1 (0..15) or Q5_1/Q5_0 (0..31) block, elements in order.
inline __m256i nibble_levels(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m4 = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4));
}
inline __m256i five_bit_levels(const uint8_t* qh, const uint8_t* qs) {
  uint32_t bits = 0;
  std::memcpy(&bits, qh, 4);
  return _mm256_or_si256(nibble_levels(qs), bits_to_bit4(bits));
}

// The 32 signed weights of a Q5_0 block (levels minus 16).
inline __m256i q5_0_weights(const BlockQ5_0& w) {
  return _mm256_sub_epi8(five_bit_levels(w.qh, w.qs), _mm256_set1_epi8(16));
}
inline __m256i q4_1_levels(const BlockQ4_1& w) {
  return nibble_levels(w.qs);
}
inline __m256i q5_1_levels(const BlockQ5_1& w) {
  return five_bit_levels(w.qh, w.qs);
}

// Every dot below is written once for N activation rows (act_row + i * act_stride bytes): the
// weights of a block (and a K-quant super-block's scales) are loaded and unpacked once, then
// each row runs its own sequence of operations. vec_dot_* is the N = 1 instance and
// vec_dot_x4_* the N = 4 one, so a row's result is bitwise the same in both (batch invariance
// across prefill and decode).
template <class Act, int N>
inline void act_rows(const void* act_row, int64_t act_stride, const Act* (&a)[N]) {
  for (int i = 0; i < N; ++i) {
    a[i] = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(act_row) + i * act_stride);
  }
}

// Q8_0 and Q4_0 (Weights gives a block's 32 signed weights): two blocks per step into two
// accumulators, so consecutive blocks' FMAs do not wait on each other (decode is a stream of
// these dots; one chain bound it to the FMA latency). Even blocks go to acc0, odd ones to
// acc1, the tail to acc0, then one final sum.
template <class S, class Block, __m256i (*Weights)(const Block&), int N>
void dot_rows_q8(int64_t n, const void* w_row, const void* act_row, int64_t act_stride,
                 float* out) {
  const auto* w = static_cast<const Block*>(w_row);
  const BlockQ8_0* a[N];
  act_rows(act_row, act_stride, a);
  const int64_t nb = n / kQK;
  __m256 acc0[N], acc1[N];
  for (int i = 0; i < N; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256i w0 = Weights(w[b]), w1 = Weights(w[b + 1]);
#pragma GCC unroll 4
    for (int i = 0; i < N; ++i) {
      acc0[i] = q8_block<S>(w0, w[b].d, a[i][b], acc0[i]);
      acc1[i] = q8_block<S>(w1, w[b + 1].d, a[i][b + 1], acc1[i]);
    }
  }
  if (b < nb) {
    const __m256i w0 = Weights(w[b]);
    for (int i = 0; i < N; ++i) acc0[i] = q8_block<S>(w0, w[b].d, a[i][b], acc0[i]);
  }
  for (int i = 0; i < N; ++i) out[i] = hsum_f32(_mm256_add_ps(acc0[i], acc1[i]));
}

// Q4_1 and Q5_1 (Levels gives a block's unsigned levels) against Q8_1, in the reference's order
// (ref dot_offset, llama.cpp's x86 order): int32 lane k holds the exact sum over elements
// 4k..4k+3 and accumulates as fma(lane, d_w * d_x, acc) block after block; the offsets m * s
// are rounded and summed on the side, then added after the lanes' horizontal sum.
template <class S, class Block, __m256i (*Levels)(const Block&), int N>
void dot_rows_offset(int64_t n, const void* w_row, const void* act_row, int64_t act_stride,
                     float* out) {
  const auto* w = static_cast<const Block*>(w_row);
  const BlockQ8_1* a[N];
  act_rows(act_row, act_stride, a);
  __m256 acc[N];
  float offsets[N];
  for (int i = 0; i < N; ++i) acc[i] = _mm256_setzero_ps(), offsets[i] = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    const __m256i q = Levels(w[b]);
    const float dw = half_to_float(w[b].d), mw = half_to_float(w[b].m);
#pragma GCC unroll 4
    for (int i = 0; i < N; ++i) {
      const __m256i lanes = S::mul_sum_u8s8(q, load32(a[i][b].qs));
      const float d = dw * half_to_float(a[i][b].d);
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(d), acc[i]);
      offsets[i] += rounded(mw * half_to_float(a[i][b].s));
    }
  }
  for (int i = 0; i < N; ++i) out[i] = hsum_f32(acc[i]) + offsets[i];
}

// Q2_K and Q3_K in the reference's order (ref dot_k): per super-block the exact integer sums
// isum = sum_g sc[g] * sum(q * a) (and Q2_K's msum = sum_g mn[g] * bsum[g]), then
// term = (d * d_a) * isum - (dmin * d_a) * msum, each product rounded, summed in block order.
// Both walk 32-element runs of 2-bit fields: run r (0..7) of half h = r / 4 is bit pair r % 4
// of bytes qs[32h .. 32h+31]; Q3_K's third bit for run r is bit r of hmask[l] (clear: minus 4,
// taken as level + 4 * bit with 4 * bsum subtracted per group).
template <class S, class Block, int N>
void dot_rows_k2(int64_t n, const void* w_row, const void* act_row, int64_t act_stride,
                 float* out) {
  constexpr bool kQ3 = std::is_same_v<Block, BlockQ3_K>;
  const auto* w = static_cast<const Block*>(w_row);
  const BlockQ8_K* a[N];
  act_rows(act_row, act_stride, a);
  const __m256i m2 = _mm256_set1_epi8(3), m1 = _mm256_set1_epi8(1);
  float sum[N];
  for (int i = 0; i < N; ++i) sum[i] = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    int sc[16], mn[16];
    for (int g = 0; g < 16; ++g) {
      if constexpr (kQ3) {
        sc[g] = q3k_scale(g, w[b].scales) - 32;
        mn[g] = 0;
      } else {
        sc[g] = w[b].scales[g] & 0xF;
        mn[g] = w[b].scales[g] >> 4;
      }
    }
    __m256i hm = _mm256_setzero_si256();
    if constexpr (kQ3) hm = load32(w[b].hmask);
    __m256i acc[N];
    for (int i = 0; i < N; ++i) acc[i] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      const __m256i bits = load32(w[b].qs + 32 * (r / 4));
      __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * (r % 4)), m2);
      if constexpr (kQ3) {
        const __m256i third = _mm256_and_si256(_mm256_srli_epi16(hm, r), m1);
        q = _mm256_or_si256(q, _mm256_slli_epi16(third, 2));
      }
#pragma GCC unroll 4
      for (int i = 0; i < N; ++i) {
        acc[i] = _mm256_add_epi32(acc[i], S::mul_sum_u8s8_scaled(q, load32(a[i][b].qs + 32 * r),
                                                                 sc[2 * r], sc[2 * r + 1]));
      }
    }
    for (int i = 0; i < N; ++i) {
      int isum = hsum_i32(acc[i]), msum = 0;
      for (int g = 0; g < 16; ++g) {
        if constexpr (kQ3) {
          isum -= 4 * sc[g] * a[i][b].bsums[g];
        } else {
          msum += mn[g] * a[i][b].bsums[g];
        }
      }
      float term = rounded(half_to_float(w[b].d) * a[i][b].d * static_cast<float>(isum));
      if constexpr (!kQ3) {
        term -= rounded(half_to_float(w[b].dmin) * a[i][b].d * static_cast<float>(msum));
      }
      sum[i] += term;
    }
  }
  for (int i = 0; i < N; ++i) out[i] = sum[i];
}

// Q4_K: sum_g d*sc[g] * sum(q*a) - dmin*mn[g] * sum(a), all times the activation scale.
template <class S, int N>
void dot_rows_q4_k(int64_t n, const void* w_row, const void* act_row, int64_t act_stride,
                   float* out) {
  const auto* w = static_cast<const BlockQ4_K*>(w_row);
  const BlockQ8_K* a[N];
  act_rows(act_row, act_stride, a);
  float sum[N];
  for (int i = 0; i < N; ++i) sum[i] = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    uint8_t sc[8], mn[8];
    int mins[N];
    __m256i acc[N];
    for (int i = 0; i < N; ++i) mins[i] = 0, acc[i] = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
      k4_scale_min(g, w[b].scales, &sc[g], &mn[g]);
      for (int i = 0; i < N; ++i) {
        mins[i] += mn[g] * (a[i][b].bsums[2 * g] + a[i][b].bsums[2 * g + 1]);
      }
    }
    for (int c = 0; c < 4; ++c) {
      __m256i lo, hi;
      split_nibbles(load32(w[b].qs + 32 * c), &lo, &hi);
#pragma GCC unroll 4
      for (int i = 0; i < N; ++i) {
        acc[i] = _mm256_add_epi32(
            acc[i], S::mul_sum_u8s8_scaled(lo, load32(a[i][b].qs + 64 * c), sc[2 * c], sc[2 * c]));
        acc[i] =
            _mm256_add_epi32(acc[i], S::mul_sum_u8s8_scaled(hi, load32(a[i][b].qs + 64 * c + 32),
                                                            sc[2 * c + 1], sc[2 * c + 1]));
      }
    }
    for (int i = 0; i < N; ++i) {
      const float d = half_to_float(w[b].d) * a[i][b].d;
      const float dmin = half_to_float(w[b].dmin) * a[i][b].d;
      sum[i] += d * static_cast<float>(hsum_i32(acc[i])) - dmin * static_cast<float>(mins[i]);
    }
  }
  for (int i = 0; i < N; ++i) out[i] = sum[i];
}

// Bit g (0..7) of every byte of qh moved to bit 4, all other bits clear (16-bit shifts keep each
// byte's own bits in place at bit 4).
template <int G>
inline __m256i q5_high_bit(__m256i qh) {
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  if constexpr (G <= 4) return _mm256_and_si256(_mm256_slli_epi16(qh, 4 - G), bit4);
  return _mm256_and_si256(_mm256_srli_epi16(qh, G - 4), bit4);
}

// Q5_K in the reference's order (ref dot_q5_k_lanes, llama.cpp's x86 order; the reference
// outputs of a Q5_K_M model depend on it): per super-block, int32 lane k holds
// sum_g sc[g] * sum(q * a) over the columns e with e % 32 in 4k..4k+3 (the lanes the u8 x s8
// step fills), then acc = fma(d_a * d, lane, acc). The min terms (-d_a * dmin) * sum_g(mn[g] *
// group sum of a) are rounded and summed in f32 on the side, and added after the lanes'
// horizontal sum. Bitwise equal to the reference.
template <class S, int N>
void dot_rows_q5_k(int64_t n, const void* w_row, const void* act_row, int64_t act_stride,
                   float* out) {
  const auto* w = static_cast<const BlockQ5_K*>(w_row);
  const BlockQ8_K* a[N];
  act_rows(act_row, act_stride, a);
  __m256 acc[N];
  float mins[N];
  for (int i = 0; i < N; ++i) acc[i] = _mm256_setzero_ps(), mins[i] = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    uint8_t sc[8], mn[8];
    for (int g = 0; g < 8; ++g) k4_scale_min(g, w[b].scales, &sc[g], &mn[g]);
    const __m256i qh = load32(w[b].qh);
    __m256i lanes[N];
    for (int i = 0; i < N; ++i) lanes[i] = _mm256_setzero_si256();
    auto sub_block_pair = [&](auto c_const) {
      constexpr int c = decltype(c_const)::value;
      __m256i lo, hi;
      split_nibbles(load32(w[b].qs + 32 * c), &lo, &hi);
      lo = _mm256_or_si256(lo, q5_high_bit<2 * c>(qh));
      hi = _mm256_or_si256(hi, q5_high_bit<2 * c + 1>(qh));
#pragma GCC unroll 4
      for (int i = 0; i < N; ++i) {
        lanes[i] = _mm256_add_epi32(
            lanes[i],
            S::mul_sum_u8s8_scaled(lo, load32(a[i][b].qs + 64 * c), sc[2 * c], sc[2 * c]));
        lanes[i] =
            _mm256_add_epi32(lanes[i], S::mul_sum_u8s8_scaled(hi, load32(a[i][b].qs + 64 * c + 32),
                                                              sc[2 * c + 1], sc[2 * c + 1]));
      }
    };
    sub_block_pair(std::integral_constant<int, 0>{});
    sub_block_pair(std::integral_constant<int, 1>{});
    sub_block_pair(std::integral_constant<int, 2>{});
    sub_block_pair(std::integral_constant<int, 3>{});
    for (int i = 0; i < N; ++i) {
      int msum = 0;
      for (int s = 0; s < kQKK / 16; ++s) msum += mn[s / 2] * a[i][b].bsums[s];
      const float d = a[i][b].d * half_to_float(w[b].d);
      acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes[i]), acc[i]);
      const float dmin = -a[i][b].d * half_to_float(w[b].dmin);
      mins[i] += rounded(dmin * static_cast<float>(msum));
    }
  }
  for (int i = 0; i < N; ++i) out[i] = hsum_f32(acc[i]) + mins[i];
}

// Q6_K: sum_g d*sc[g] * (sum(q6*a) - 32*sum(a)), q6 unsigned 0..63.
template <class S, int N>
void dot_rows_q6_k(int64_t n, const void* w_row, const void* act_row, int64_t act_stride,
                   float* out) {
  const auto* w = static_cast<const BlockQ6_K*>(w_row);
  const BlockQ8_K* a[N];
  act_rows(act_row, act_stride, a);
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
  float sum[N];
  for (int i = 0; i < N; ++i) sum[i] = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const int8_t* sc = w[b].scales;
    int offset[N];
    __m256i acc[N];
    for (int i = 0; i < N; ++i) {
      offset[i] = 0;
      for (int g = 0; g < 16; ++g) offset[i] += sc[g] * a[i][b].bsums[g];
      acc[i] = _mm256_setzero_si256();
    }
    for (int half = 0; half < 2; ++half) {
      const __m256i ql0 = load32(w[b].ql + 64 * half);
      const __m256i ql1 = load32(w[b].ql + 64 * half + 32);
      const __m256i qh = load32(w[b].qh + 32 * half);
      for (int k = 0; k < 4; ++k) {
        const __m256i l = k & 1 ? ql1 : ql0;
        const __m256i low =
            k >> 1 ? _mm256_and_si256(_mm256_srli_epi16(l, 4), m4) : _mm256_and_si256(l, m4);
        const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k)), m2);
        const __m256i q = _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
        const int g = 8 * half + 2 * k;  // lanes 0-3: group g, lanes 4-7: group g+1
#pragma GCC unroll 4
        for (int i = 0; i < N; ++i) {
          acc[i] = _mm256_add_epi32(
              acc[i], S::mul_sum_u8s8_scaled(q, load32(a[i][b].qs + 128 * half + 32 * k), sc[g],
                                             sc[g + 1]));
        }
      }
    }
    for (int i = 0; i < N; ++i) {
      const float d = half_to_float(w[b].d) * a[i][b].d;
      sum[i] += d * static_cast<float>(hsum_i32(acc[i]) - 32 * offset[i]);
    }
  }
  for (int i = 0; i < N; ++i) out[i] = sum[i];
}

// The kernel-table entries (VecDotFn and VecDotX4Fn).
template <void (*Rows)(int64_t, const void*, const void*, int64_t, float*)>
float vec_dot_one(int64_t n, const void* w_row, const void* act_row) {
  float out;
  Rows(n, w_row, act_row, 0, &out);
  return out;
}

template <class S>
float vec_dot_q8_0(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_q8<S, BlockQ8_0, q8_0_weights, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q4_0(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_q8<S, BlockQ4_0, q4_0_weights, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q5_0(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_q8<S, BlockQ5_0, q5_0_weights, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q4_1(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_offset<S, BlockQ4_1, q4_1_levels, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q5_1(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_offset<S, BlockQ5_1, q5_1_levels, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q2_k(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_k2<S, BlockQ2_K, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q3_k(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_k2<S, BlockQ3_K, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q4_k(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_q4_k<S, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q5_k(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_q5_k<S, 1>>(n, w_row, act_row);
}
template <class S>
float vec_dot_q6_k(int64_t n, const void* w_row, const void* act_row) {
  return vec_dot_one<dot_rows_q6_k<S, 1>>(n, w_row, act_row);
}

}  // namespace
}  // namespace tenbin::kernels::cpu
