// Quantizers of the stored K formats Q4_K, Q5_K and Q6_K: the inverses, up to rounding, of the
// dequantizers in kernels/ref/dequantize.cc (bit layouts in tensor/blocks.h, kernels/ref/unpack.h).
//
// The scheme, in two levels per 256-element super-block:
// 1. Each sub-block (Q4_K: 8 of 32 elements, x ~ s * q - o with q in 0..15, s, o >= 0; Q5_K
//    the same with q in 0..31;
//    Q6_K: 16 of 16 elements, x ~ s * q with q in -32..31, s signed) gets its own float scale:
//    - Q4_K and Q5_K start from the min/max fit (o = -min(0, min x), s = (max x + o) / 15) and from
//    a
//      range 10% narrower around the same centre; each start is improved by alternating "round
//      every element to its nearest level" with "least-squares (s, o) for those levels" (neither
//      step can raise the squared error); the fit with the smallest squared error wins.
//    - Q6_K maps the element of largest magnitude v to the level -32 (s = v / -32), tries a few
//      scales a little smaller and larger (clipping or coarsening the extremes), refits s by
//      least squares for the best levels, and keeps the smallest squared error.
// 2. The sub-block scales are themselves quantized against one f16 super-block scale:
//    Q4_K, Q5_K: d = max s / 63, dmin = max o / 63, 6-bit sc = round(s / d), mn = round(o / dmin);
//    Q6_K: d = max |s| / 127, int8 sc = round(s / d). d and dmin are rounded up to f16 first
//    and the sub-block scales derived from the rounded values; then every element is rounded
//    once more against its final scale (d * sc, dmin * mn), so the stored levels are the
//    nearest ones for the scales actually stored.
// On unit Gaussian data the relative RMS error is about 0.073 (Q4_K) and 0.017 (Q6_K), against
// 0.079 and 0.019 for plain rounding over each sub-block's range. All-zero sub-blocks decode to
// exact zeros. Inputs must be finite; magnitudes beyond about 1e6 overflow the f16 scales.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "kernels/ref/ref_ops.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {
namespace {

constexpr int kQ4Group = 32;
constexpr int kQ6Group = 16;
constexpr int kQ4Max = 15;   // 4-bit levels 0..15
constexpr int kQ5Max = 31;   // 5-bit levels 0..31
constexpr int kQ6Low = -32;  // 6-bit levels -32..31 (stored offset by 32)
constexpr int kQ6High = 31;
constexpr int kScaleMax6 = 63;  // 6-bit Q4_K sub-block scales and mins

// Nearest level in [lo, hi], ties to even (NaN gives lo), as a float. Clamped first, then
// rounded by adding and removing 1.5 * 2^23 (exact round-to-nearest-even for |v| < 2^22 in the
// default FP mode; much cheaper than a libm nearbyint call on baseline x86-64, and these loops
// see every weight several times).
float level_f(float v, float lo, float hi) {
  constexpr float kMagic = 12582912.0f;
  const float c = v > lo ? (v < hi ? v : hi) : lo;
  return (c + kMagic) - kMagic;
}

int level(float v, int lo, int hi) {
  return static_cast<int>(level_f(v, static_cast<float>(lo), static_cast<float>(hi)));
}

// The smallest f16 value >= v (v >= 0 and finite), so that no sub-block scale derived from it
// exceeds its integer range; matters where small weights make d an f16 subnormal.
float f16_round_up(float v) {
  uint16_t h = f32_to_fp16(v);
  if (fp16_to_f32(h) < v) ++h;
  return fp16_to_f32(h);
}

// ---- Q4_K and Q5_K: x ~ s * q - o, q in 0..qmax (15 or 31) ----

struct AffineFit {
  float s = 0;
  float o = 0;
};

int affine_level(float x, float inv_s, float o, int qmax) {
  return level((x + o) * inv_s, 0, qmax);
}

// One pass over a sub-block for a fit: its squared error and the level sums a least-squares
// refit needs.
struct AffinePass {
  float err = 0;
  float sq = 0, sqq = 0, sqx = 0;
};

AffinePass affine_pass(const float* x, int n, const AffineFit& fit, int qmax) {
  AffinePass p;
  const float inv_s = 1.0f / fit.s;
  for (int i = 0; i < n; ++i) {
    const float q = level_f((x[i] + fit.o) * inv_s, 0, static_cast<float>(qmax));
    const float e = fit.s * q - fit.o - x[i];
    p.err += e * e;
    p.sq += q;
    p.sqq += q * q;
    p.sqx += q * x[i];
  }
  return p;
}

// Least-squares (s, o) for the levels of `p`, keeping s > 0 and o >= 0 (so that d and dmin stay
// non-negative); nullopt when the levels are all equal.
std::optional<AffineFit> refit_affine(const AffinePass& p, int n, float sx) {
  const float det = static_cast<float>(n) * p.sqq - p.sq * p.sq;
  if (det <= 0) return std::nullopt;
  float s = (static_cast<float>(n) * p.sqx - p.sq * sx) / det;
  float o = (s * p.sq - sx) / static_cast<float>(n);  // x ~ s q - o  =>  o = mean(s q - x)
  if (o < 0) {                                        // constrained optimum on the boundary o = 0
    o = 0;
    s = p.sqx / p.sqq;
  }
  if (!(s > 0)) return std::nullopt;
  return AffineFit{s, o};
}

AffineFit fit_affine(const float* x, int n, int qmax) {
  float lo = 0, hi = x[0], sx = 0;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sx += x[i];
  }
  if (hi <= lo) return AffineFit{0, -lo};  // constant at or below zero: the offset is exact
  AffineFit best;
  float best_err = std::numeric_limits<float>::infinity();
  for (float shrink : {1.0f, 0.9f}) {
    // Narrower ranges centred like the full one clip the extremes for finer inner levels.
    const float range = (hi - lo) * shrink;
    AffineFit fit{range / static_cast<float>(qmax), std::max(0.0f, -(lo + hi - range) / 2)};
    AffinePass pass = affine_pass(x, n, fit, qmax);
    for (int iter = 0; iter < 3; ++iter) {
      std::optional<AffineFit> next = refit_affine(pass, n, sx);
      if (!next) break;
      const AffinePass next_pass = affine_pass(x, n, *next, qmax);
      if (!(next_pass.err < pass.err)) break;
      fit = *next;
      pass = next_pass;
    }
    if (pass.err < best_err) {
      best = fit;
      best_err = pass.err;
    }
  }
  return best;
}

// The 12 scale bytes: the inverse of k4_scale_min (tensor/blocks.h).
void pack_k4_scales(const int* sc, const int* mn, uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
}

// Q4_K (qmax 15) and Q5_K (qmax 31): the sub-block fits, the 6-bit scales and mins against d
// and dmin, and each element's level against its final step and offset; `store(g, l, q)`
// writes level q of element l of sub-block g.
template <class Block, class Store>
void quantize_block_k4(const float* x, int qmax, Block* b, Store store) {
  constexpr int kGroups = kQKK / kQ4Group;
  AffineFit fits[kGroups];
  float s_max = 0, o_max = 0;
  for (int g = 0; g < kGroups; ++g) {
    fits[g] = fit_affine(x + kQ4Group * g, kQ4Group, qmax);
    s_max = std::max(s_max, fits[g].s);
    o_max = std::max(o_max, fits[g].o);
  }
  const float d = f16_round_up(s_max / kScaleMax6);
  const float dmin = f16_round_up(o_max / kScaleMax6);
  int sc[kGroups], mn[kGroups];
  for (int g = 0; g < kGroups; ++g) {
    sc[g] = d > 0 ? level(fits[g].s / d, 0, kScaleMax6) : 0;
    mn[g] = dmin > 0 ? level(fits[g].o / dmin, 0, kScaleMax6) : 0;
  }
  b->d = f32_to_fp16(d);
  b->dmin = f32_to_fp16(dmin);
  pack_k4_scales(sc, mn, b->scales);
  for (int g = 0; g < kGroups; ++g) {
    const float step = d * static_cast<float>(sc[g]);
    const float inv_step = step > 0 ? 1.0f / step : 0.0f;
    const float offset = dmin * static_cast<float>(mn[g]);
    for (int l = 0; l < kQ4Group; ++l) {
      store(g, l, affine_level(x[kQ4Group * g + l], inv_step, offset, qmax));
    }
  }
}

// Element l of sub-block g: nibble g % 2 of qs[32 * (g / 2) + l]; Q5_K's fifth bit is bit g of
// qh[l] (kernels/ref/unpack.h).
void quantize_block_q4_k(const float* x, BlockQ4_K* b) {
  std::memset(b->qs, 0, sizeof b->qs);
  quantize_block_k4(x, kQ4Max, b, [b](int g, int l, int q) {
    uint8_t& byte = b->qs[32 * (g / 2) + l];
    byte = static_cast<uint8_t>(byte | (q << (4 * (g % 2))));
  });
}

void quantize_block_q5_k(const float* x, BlockQ5_K* b) {
  std::memset(b->qs, 0, sizeof b->qs);
  std::memset(b->qh, 0, sizeof b->qh);
  quantize_block_k4(x, kQ5Max, b, [b](int g, int l, int q) {
    uint8_t& byte = b->qs[32 * (g / 2) + l];
    byte = static_cast<uint8_t>(byte | ((q & 0xF) << (4 * (g % 2))));
    b->qh[l] = static_cast<uint8_t>(b->qh[l] | ((q >> 4) << g));
  });
}

// ---- Q6_K: x ~ s * q, q in -32..31 ----

int symmetric_level(float x, float inv_s) {
  return level(x * inv_s, kQ6Low, kQ6High);
}

float symmetric_error(const float* x, int n, float s) {
  const float inv_s = 1.0f / s;
  float err = 0;
  for (int i = 0; i < n; ++i) {
    const float e = s * static_cast<float>(symmetric_level(x[i], inv_s)) - x[i];
    err += e * e;
  }
  return err;
}

float fit_symmetric(const float* x, int n) {
  float v = 0;  // the value of largest magnitude, with its sign
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > std::fabs(v)) v = x[i];
  }
  if (v == 0) return 0;
  float best = v / kQ6Low;
  float best_err = symmetric_error(x, n, best);
  for (float levels : {-33.0f, -32.5f, -31.5f, -31.0f}) {
    const float s = v / levels;
    const float err = symmetric_error(x, n, s);
    if (err < best_err) {
      best = s;
      best_err = err;
    }
  }
  float sqq = 0, sqx = 0;  // least-squares s for the best levels
  const float inv_best = 1.0f / best;
  for (int i = 0; i < n; ++i) {
    const auto q = static_cast<float>(symmetric_level(x[i], inv_best));
    sqq += q * q;
    sqx += q * x[i];
  }
  const float s = sqx / sqq;  // sqq > 0: v itself has a non-zero level
  if (s != 0 && symmetric_error(x, n, s) < best_err) best = s;
  return best;
}

void quantize_block_q6_k(const float* x, BlockQ6_K* b) {
  constexpr int kGroups = kQKK / kQ6Group;
  float s[kGroups];
  float s_amax = 0;
  for (int g = 0; g < kGroups; ++g) {
    s[g] = fit_symmetric(x + kQ6Group * g, kQ6Group);
    s_amax = std::max(s_amax, std::fabs(s[g]));
  }
  const float d = f16_round_up(s_amax / 127.0f);
  b->d = f32_to_fp16(d);
  for (int g = 0; g < kGroups; ++g) {
    b->scales[g] = static_cast<int8_t>(d > 0 ? level(s[g] / d, -127, 127) : 0);
  }
  std::memset(b->ql, 0, sizeof b->ql);
  std::memset(b->qh, 0, sizeof b->qh);
  // Element 128*half + 32*k + l: low nibble in ql[64*half + l + 32*(k&1)] (high nibble when
  // k >= 2), top two bits in bit pair k of qh[32*half + l].
  for (int e = 0; e < kQKK; ++e) {
    const float step = d * static_cast<float>(b->scales[e / kQ6Group]);
    const int q = (step != 0 ? symmetric_level(x[e], 1.0f / step) : 0) - kQ6Low;  // 0..63
    const int half = e / 128, k = (e % 128) / 32, l = e % 32;
    uint8_t& ql = b->ql[64 * half + l + 32 * (k & 1)];
    ql = static_cast<uint8_t>(ql | ((q & 0xF) << (4 * (k >> 1))));
    uint8_t& qh = b->qh[32 * half + l];
    qh = static_cast<uint8_t>(qh | ((q >> 4) << (2 * k)));
  }
}

}  // namespace

void quantize_q4_k(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i) quantize_block_q4_k(x + i * kQKK, &b[i]);
}

void quantize_q5_k(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i) quantize_block_q5_k(x + i * kQKK, &b[i]);
}

void quantize_q6_k(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i) quantize_block_q6_k(x + i * kQKK, &b[i]);
}

}  // namespace tenbin::kernels::ref
