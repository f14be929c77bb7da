// Float ops written once against a SIMD vocabulary S (simd_avx2.h / simd_avx512.h): dots of
// f32/f16/bf16 rows, rms_norm, softmax, silu_mul, add, rope (recipe: kernels/ops.h), f16 row
// conversions and the absmax int8 rounding of 32-value blocks; attention builds on them in
// attention_kernels.h and attention_q8_kernels.h.
// Included only by the per-ISA files, inside an anonymous namespace, so each ISA gets its own copy.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/ops.h"
#include "kernels/ref/ref_ops.h"
#include "tensor/half.h"

namespace tenbin::kernels::cpu {
namespace {

// exp(x): x = n*ln2 + r with |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (relative
// error ~2e-7), times 2^n. Inputs are clamped so 2^n stays a normal float.
template <class S>
typename S::V exp_v(typename S::V x) {
  using V = typename S::V;
  x = S::min(S::max(x, S::set1(-87.3f)), S::set1(88.7f));
  const V n = S::round(S::mul(x, S::set1(1.44269504089f)));
  V r = S::fnmadd(n, S::set1(0.693145751953125f), x);  // ln2 split in two for exactness
  r = S::fnmadd(n, S::set1(1.428606765330187e-06f), r);
  V p = S::set1(1.0f / 720);
  p = S::fmadd(p, r, S::set1(1.0f / 120));
  p = S::fmadd(p, r, S::set1(1.0f / 24));
  p = S::fmadd(p, r, S::set1(1.0f / 6));
  p = S::fmadd(p, r, S::set1(0.5f));
  p = S::fmadd(p, r, S::set1(1.0f));
  p = S::fmadd(p, r, S::set1(1.0f));
  return S::mul(p, S::pow2(n));
}

// Loads S::kW elements of a row stored as f32, f16 or bf16.
enum class Elem { kF32, kF16, kBF16 };
template <class S, Elem E>
typename S::V load_elems(const void* p, int64_t i) {
  if constexpr (E == Elem::kF32) return S::load(static_cast<const float*>(p) + i);
  if constexpr (E == Elem::kF16) return S::load_f16(static_cast<const uint16_t*>(p) + i);
  if constexpr (E == Elem::kBF16) return S::load_bf16(static_cast<const uint16_t*>(p) + i);
}
template <Elem E>
float elem_at(const void* p, int64_t i) {
  if constexpr (E == Elem::kF32) return static_cast<const float*>(p)[i];
  if constexpr (E == Elem::kF16) return fp16_to_f32(static_cast<const uint16_t*>(p)[i]);
  if constexpr (E == Elem::kBF16) return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
}

// sum_i w[i] * x[i] of two rows of float formats Ew and Ex: two vector accumulators, then a
// scalar tail.
template <class S, Elem Ew, Elem Ex = Elem::kF32>
float dot(int64_t n, const void* w, const void* x) {
  typename S::V a0 = S::zero(), a1 = S::zero();
  int64_t i = 0;
  for (; i + 2 * S::kW <= n; i += 2 * S::kW) {
    a0 = S::fmadd(load_elems<S, Ew>(w, i), load_elems<S, Ex>(x, i), a0);
    a1 = S::fmadd(load_elems<S, Ew>(w, i + S::kW), load_elems<S, Ex>(x, i + S::kW), a1);
  }
  for (; i + S::kW <= n; i += S::kW) {
    a0 = S::fmadd(load_elems<S, Ew>(w, i), load_elems<S, Ex>(x, i), a0);
  }
  float sum = S::hsum(S::add(a0, a1));
  for (; i < n; ++i) sum += elem_at<Ew>(w, i) * elem_at<Ex>(x, i);
  return sum;
}

// Weight and activation rows in the same float format (the matmul recipe's dot partner).
template <class S, Elem E>
float vec_dot_float(int64_t n, const void* w_row, const void* act_row) {
  return dot<S, E, E>(n, w_row, act_row);
}

// The scale follows the reference's recipe (ref::rms_norm_scale: sixteen double lanes, element i
// to lane i % 16), so variants differ only in (x * scale) * weight: none.
template <class S>
void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  double lanes[ref::kSquareLanes];
  const int64_t n16 = n / ref::kSquareLanes * ref::kSquareLanes;
  S::square_lanes16(x, n16, lanes);
  ref::add_square_tail(x, n16, n, lanes);
  const float scale = ref::rms_norm_scale_from_lanes(lanes, n, eps);
  const typename S::V vs = S::set1(scale);
  int64_t i = 0;
  for (; i + S::kW <= n; i += S::kW) {
    S::store(y + i, S::mul(S::mul(S::load(x + i), vs), S::load(weight + i)));
  }
  for (; i < n; ++i) y[i] = (x[i] * scale) * weight[i];
}

template <class S>
void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  using V = typename S::V;
  int64_t i = 0;
  V vmax = S::set1(-INFINITY);
  for (; i + S::kW <= n; i += S::kW) vmax = S::max(vmax, S::load(x + i));
  float max = S::hmax(vmax);
  for (; i < n; ++i) max = std::max(max, x[i]);
  const V vm = S::set1(max);
  V vsum = S::zero();
  for (i = 0; i + S::kW <= n; i += S::kW) {
    const V e = exp_v<S>(S::sub(S::load(x + i), vm));
    S::store(x + i, e);
    vsum = S::add(vsum, e);
  }
  float sum = S::hsum(vsum);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const V inv = S::set1(1.0f / sum);
  for (i = 0; i + S::kW <= n; i += S::kW) S::store(x + i, S::mul(S::load(x + i), inv));
  for (; i < n; ++i) x[i] *= 1.0f / sum;
}

// silu(g) * u = g / (1 + exp(-g)) * u on S::kW lanes.
template <class S>
typename S::V silu_mul_v(typename S::V g, typename S::V u) {
  const typename S::V e = exp_v<S>(S::sub(S::zero(), g));
  return S::mul(S::div(g, S::add(S::set1(1.0f), e)), u);
}

// The tail goes through the same vector code (padded), so each element's result does not
// depend on where n ends: callers pass many tokens' rows at once (batch invariance).
template <class S>
void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + S::kW <= n; i += S::kW) {
    S::store(out + i, silu_mul_v<S>(S::load(gate + i), S::load(up + i)));
  }
  if (i == n) return;
  alignas(64) float g[S::kW] = {}, u[S::kW] = {}, o[S::kW];
  std::copy(gate + i, gate + n, g);
  std::copy(up + i, up + n, u);
  S::store(o, silu_mul_v<S>(S::load(g), S::load(u)));
  std::copy(o, o + (n - i), out + i);
}

template <class S>
void add(const float* a, const float* b, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + S::kW <= n; i += S::kW) S::store(out + i, S::add(S::load(a + i), S::load(b + i)));
  for (; i < n; ++i) out[i] = a[i] + b[i];
}

// Angles come from ref::rope_angles, so variants differ from the reference only in rounding.
template <class S>
void rope(float* x, int n_heads, int head_dim, int pos, const RopeParams& params) {
  using V = typename S::V;
  const int half = params.rot_dim / 2;
  std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
  ref::rope_angles(pos, params, cs.data(), sn.data());
  if (params.style == RopeStyle::kNormal) {
    // Interleaved: out = x * (c0 c0 c1 c1 ..) + swap_pairs(x) * (-s0 s0 -s1 s1 ..).
    std::vector<float> c2(static_cast<size_t>(2 * half)), s2(static_cast<size_t>(2 * half));
    for (int i = 0; i < half; ++i) {
      c2[2 * i] = c2[2 * i + 1] = cs[i];
      s2[2 * i] = -sn[i];
      s2[2 * i + 1] = sn[i];
    }
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + static_cast<int64_t>(h) * head_dim;
      int j = 0;
      for (; j + S::kW <= 2 * half; j += S::kW) {
        const V xv = S::load(v + j);
        S::store(v + j, S::fmadd(S::swap_pairs(xv), S::load(&s2[j]), S::mul(xv, S::load(&c2[j]))));
      }
      for (int i = j / 2; i < half; ++i) {
        const float x0 = v[2 * i], x1 = v[2 * i + 1];
        v[2 * i] = x0 * cs[i] - x1 * sn[i];
        v[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
      }
    }
    return;
  }
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    int i = 0;
    for (; i + S::kW <= half; i += S::kW) {
      const V x0 = S::load(v + i), x1 = S::load(v + i + half);
      const V c = S::load(&cs[i]), s = S::load(&sn[i]);
      S::store(v + i, S::fnmadd(x1, s, S::mul(x0, c)));
      S::store(v + i + half, S::fmadd(x1, c, S::mul(x0, s)));
    }
    for (; i < half; ++i) {
      const float x0 = v[i], x1 = v[i + half];
      v[i] = x0 * cs[i] - x1 * sn[i];
      v[i + half] = x0 * sn[i] + x1 * cs[i];
    }
  }
}

// y[i] = x[i] rounded to f16 and back (y may alias x).
template <class S>
void round_to_f16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + S::kW <= n; i += S::kW) S::store(y + i, S::round_f16(S::load(x + i)));
  for (; i < n; ++i) y[i] = fp16_to_f32(f32_to_fp16(x[i]));
}

// dst[i] = f16 value src[i] widened to f32.
template <class S>
void dequantize_f16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + S::kW <= n; i += S::kW) S::store(dst + i, S::load_f16(h + i));
  for (; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
}

// The largest |x[i]| of one 32-value block (a q8 block's absmax).
template <class S>
float block_amax(const float* x) {
  typename S::V m = S::zero();
  for (int i = 0; i < 32; i += S::kW) {
    const typename S::V v = S::load(x + i);
    m = S::max(m, S::max(v, S::sub(S::zero(), v)));
  }
  return S::hmax(m);
}

// q[i] = round-half-even(x[i] * id) as int8 for one 32-value block (|x[i] * id| <= 127), as the
// reference quantizers round; returns the sum of the q[i] (exact: at most 32 * 127).
template <class S>
int32_t round_block_s8(const float* x, float id, int8_t* q) {
  const typename S::V vid = S::set1(id);
  typename S::V total = S::zero();
  for (int i = 0; i < 32; i += S::kW) {
    const typename S::V r = S::round(S::mul(S::load(x + i), vid));
    S::store_s8(q + i, r);
    total = S::add(total, r);
  }
  return static_cast<int32_t>(S::hsum(total));
}

}  // namespace
}  // namespace tenbin::kernels::cpu
