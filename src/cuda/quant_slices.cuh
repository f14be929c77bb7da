// The block formats as the decode matvec reads them (matvec_quant.cu): each block split into
// kLanes slices, one per lane, with load() (the slice's bytes and scales), dot() (the slice's
// exact integer sums against the Q8_0 / Q8_K activations of act_convert.cu) and term() (the
// block's f32 contribution from the integer sums of all its slices, as kernels/ref/dots.cc
// scales it). Host-callable too, so the slicing can be checked against the reference on a CPU.
#pragma once

#include <cstdint>

#include "cuda/device_util.cuh"
#include "tensor/blocks.h"
#include "tensor/dtype.h"

namespace tenbin::cuda {

inline constexpr int kLow4 = 0x0F0F0F0F;

template <DType T>
struct QuantFormat;

// Q4_0: 2 lanes per block; slice s holds qs bytes 8s..8s+7, i.e. elements 8s..8s+7 (low
// nibbles) and 16+8s..16+8s+7 (high nibbles), each stored as q + 8.
template <>
struct QuantFormat<DType::kQ4_0> {
  static constexpr int kLanes = 2;
  static constexpr int kBlockElems = kQK;
  static constexpr int kBlockBytes = sizeof(BlockQ4_0);
  static constexpr bool kHasMin = false;
  struct Slice {
    float d;
    int q[2];
  };
  TENBIN_HD static void load(const uint8_t* b, int s, Slice& w) {
    w.d = f16_bits_to_f32(load_u16(b));
    w.q[0] = load_i32_a2(b + 2 + 8 * s);
    w.q[1] = load_i32_a2(b + 2 + 8 * s + 4);
  }
  TENBIN_HD static void dot(const Slice& w, const int8_t* a, int s, int& isum, int&) {
    const int2 lo = *reinterpret_cast<const int2*>(a + 8 * s);
    const int2 hi = *reinterpret_cast<const int2*>(a + kQK / 2 + 8 * s);
    constexpr int kBias = 0x08080808;
    isum = dp4a(vsub4(w.q[0] & kLow4, kBias), lo.x, 0);
    isum = dp4a(vsub4(w.q[1] & kLow4, kBias), lo.y, isum);
    isum = dp4a(vsub4((w.q[0] >> 4) & kLow4, kBias), hi.x, isum);
    isum = dp4a(vsub4((w.q[1] >> 4) & kLow4, kBias), hi.y, isum);
  }
  TENBIN_HD static float term(const Slice& w, float ad, int isum, int) {
    return mul_rn(mul_rn(w.d, ad), static_cast<float>(isum));
  }
};

// Q8_0: 4 lanes per block; slice s holds elements 8s..8s+7.
template <>
struct QuantFormat<DType::kQ8_0> {
  static constexpr int kLanes = 4;
  static constexpr int kBlockElems = kQK;
  static constexpr int kBlockBytes = sizeof(BlockQ8_0);
  static constexpr bool kHasMin = false;
  struct Slice {
    float d;
    int q[2];
  };
  TENBIN_HD static void load(const uint8_t* b, int s, Slice& w) {
    w.d = f16_bits_to_f32(load_u16(b));
    w.q[0] = load_i32_a2(b + 2 + 8 * s);
    w.q[1] = load_i32_a2(b + 2 + 8 * s + 4);
  }
  TENBIN_HD static void dot(const Slice& w, const int8_t* a, int s, int& isum, int&) {
    const int2 x = *reinterpret_cast<const int2*>(a + 8 * s);
    isum = dp4a(w.q[0], x.x, 0);
    isum = dp4a(w.q[1], x.y, isum);
  }
  TENBIN_HD static float term(const Slice& w, float ad, int isum, int) {
    return mul_rn(mul_rn(w.d, ad), static_cast<float>(isum));
  }
};

// Byte i (0..11) of the 12 scale bytes of a K block held in three words.
TENBIN_HD int scale_byte(const uint32_t (&s)[3], int i) {
  const uint32_t word = i < 4 ? s[0] : (i < 8 ? s[1] : s[2]);
  return static_cast<int>((word >> (8 * (i % 4))) & 0xFF);
}

// Q4_K: 16 lanes per super-block; slice s covers qs bytes 32c + l0 .. +7 (c = s / 4,
// l0 = 8 * (s % 4)): elements 64c + l0.. of group 2c (low nibbles) and 64c + 32 + l0.. of group
// 2c + 1 (high nibbles). Blocks are 144 bytes, so 4-byte loads are aligned.
template <>
struct QuantFormat<DType::kQ4_K> {
  static constexpr int kLanes = 16;
  static constexpr int kBlockElems = kQKK;
  static constexpr int kBlockBytes = sizeof(BlockQ4_K);
  static constexpr bool kHasMin = true;
  struct Slice {
    float d, dmin;
    int sc[2], mn[2];
    int q[2];
  };
  TENBIN_HD static void load(const uint8_t* b, int s, Slice& w) {
    const uint32_t dd = static_cast<uint32_t>(load_i32(b));
    const uint32_t sw[3] = {static_cast<uint32_t>(load_i32(b + 4)),
                            static_cast<uint32_t>(load_i32(b + 8)),
                            static_cast<uint32_t>(load_i32(b + 12))};
    const int c = s / 4, l0 = 8 * (s % 4);
    w.q[0] = load_i32(b + 16 + 32 * c + l0);
    w.q[1] = load_i32(b + 16 + 32 * c + l0 + 4);
    w.d = f16_bits_to_f32(static_cast<uint16_t>(dd & 0xFFFF));
    w.dmin = f16_bits_to_f32(static_cast<uint16_t>(dd >> 16));
    TENBIN_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int j = 2 * c + h;  // kernels' k4_scale_min (tensor/blocks.h)
      if (j < 4) {
        w.sc[h] = scale_byte(sw, j) & 63;
        w.mn[h] = scale_byte(sw, j + 4) & 63;
      } else {
        w.sc[h] = (scale_byte(sw, j + 4) & 0xF) | ((scale_byte(sw, j - 4) >> 6) << 4);
        w.mn[h] = (scale_byte(sw, j + 4) >> 4) | ((scale_byte(sw, j) >> 6) << 4);
      }
    }
  }
  TENBIN_HD static void dot(const Slice& w, const int8_t* a, int s, int& isum, int& msum) {
    const int c = s / 4, l0 = 8 * (s % 4);
    const int2 lo = *reinterpret_cast<const int2*>(a + 64 * c + l0);
    const int2 hi = *reinterpret_cast<const int2*>(a + 64 * c + 32 + l0);
    constexpr int kOnes = 0x01010101;
    int dlo = dp4a(w.q[0] & kLow4, lo.x, 0);
    dlo = dp4a(w.q[1] & kLow4, lo.y, dlo);
    int dhi = dp4a((w.q[0] >> 4) & kLow4, hi.x, 0);
    dhi = dp4a((w.q[1] >> 4) & kLow4, hi.y, dhi);
    const int slo = dp4a(kOnes, lo.y, dp4a(kOnes, lo.x, 0));
    const int shi = dp4a(kOnes, hi.y, dp4a(kOnes, hi.x, 0));
    isum = w.sc[0] * dlo + w.sc[1] * dhi;
    msum = w.mn[0] * slo + w.mn[1] * shi;
  }
  TENBIN_HD static float term(const Slice& w, float ad, int isum, int msum) {
    const float t = mul_rn(mul_rn(w.d, ad), static_cast<float>(isum));
    return sub_rn(t, mul_rn(mul_rn(w.dmin, ad), static_cast<float>(msum)));
  }
};

// Q6_K: 16 lanes per super-block; slice s covers l0 .. l0 + 3 (l0 = 4 * (s % 8)) of half
// h = s / 8 for all four k: elements 128h + 32k + l0 .. +3, low nibbles from ql (k = 0, 2: bytes
// 64h + l0, k = 1, 3: bytes 64h + 32 + l0; high nibble for k >= 2), top bits from qh bytes
// 32h + l0 (bit pair k), group scale scales[8h + 2k + l0 / 16]; stored as q + 32.
template <>
struct QuantFormat<DType::kQ6_K> {
  static constexpr int kLanes = 16;
  static constexpr int kBlockElems = kQKK;
  static constexpr int kBlockBytes = sizeof(BlockQ6_K);
  static constexpr bool kHasMin = false;
  struct Slice {
    float d;
    int ql[2], qh;
    int sc[4];
  };
  TENBIN_HD static void load(const uint8_t* b, int s, Slice& w) {
    const int h = s / 8, l0 = 4 * (s % 8);
    w.ql[0] = load_i32_a2(b + 64 * h + l0);
    w.ql[1] = load_i32_a2(b + 64 * h + 32 + l0);
    w.qh = load_i32_a2(b + kQKK / 2 + 32 * h + l0);
    const auto* scales = reinterpret_cast<const int8_t*>(b + kQKK / 2 + kQKK / 4);
    const int g0 = 8 * h + l0 / 16;
    TENBIN_UNROLL
    for (int k = 0; k < 4; ++k) w.sc[k] = scales[g0 + 2 * k];
    w.d = f16_bits_to_f32(load_u16(b + kQKK / 2 + kQKK / 4 + kQKK / 16));
  }
  TENBIN_HD static void dot(const Slice& w, const int8_t* a, int s, int& isum, int&) {
    const int h = s / 8, l0 = 4 * (s % 8);
    isum = 0;
    TENBIN_UNROLL
    for (int k = 0; k < 4; ++k) {
      const int low = (w.ql[k & 1] >> (4 * (k >> 1))) & kLow4;
      const int high = ((w.qh >> (2 * k)) & 0x03030303) << 4;
      const int q = vsub4(low | high, 0x20202020);
      isum += w.sc[k] * dp4a(q, load_i32(a + 128 * h + 32 * k + l0), 0);
    }
  }
  TENBIN_HD static float term(const Slice& w, float ad, int isum, int) {
    return mul_rn(mul_rn(w.d, ad), static_cast<float>(isum));
  }
};

}  // namespace tenbin::cuda
