// The block formats as the decode matvec reads them (matvec_quant.cu): each block split into
// kLanes slices, one per lane, with load() (the slice's bytes and scales), dot() (the slice's
// exact integer sums against the activations of act_convert.cu in the type's
// activation_format) and term() (the block's f32 contribution from the integer sums of all its
// slices and the activation block's kActScales scales, as kernels/ref/dots.cc scales it).
// kAlign: the byte alignment of every block, which the 32-bit loads rely on. Host-callable too.
#pragma once

#include <cstdint>

#include "cuda/device_util.cuh"
#include "cuda/launch.h"
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
  static constexpr int kActScales = 1;
  static constexpr int kAlign = 2;
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
  TENBIN_HD static float term(const Slice& w, const float* ad, int isum, int) {
    return mul_rn(mul_rn(w.d, ad[0]), static_cast<float>(isum));
  }
};

// Q8_0: 4 lanes per block; slice s holds elements 8s..8s+7.
template <>
struct QuantFormat<DType::kQ8_0> {
  static constexpr int kActScales = 1;
  static constexpr int kAlign = 2;
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
  TENBIN_HD static float term(const Slice& w, const float* ad, int isum, int) {
    return mul_rn(mul_rn(w.d, ad[0]), static_cast<float>(isum));
  }
};

// Byte i (0..11) of the 12 scale bytes of a K block held in three words.
TENBIN_HD int scale_byte(const uint32_t (&s)[3], int i) {
  const uint32_t word = i < 4 ? s[0] : (i < 8 ? s[1] : s[2]);
  return static_cast<int>((word >> (8 * (i % 4))) & 0xFF);
}

// The K formats' block term: (d * d_a) * isum - (dmin * d_a) * msum, rounded as the reference.
TENBIN_HD float k_term(float d, float dmin, float ad, int isum, int msum) {
  const float t = mul_rn(mul_rn(d, ad), static_cast<float>(isum));
  return sub_rn(t, mul_rn(mul_rn(dmin, ad), static_cast<float>(msum)));
}

// Bits 0..3 of `bits` moved to bit 0 of bytes 0..3.
TENBIN_HD int spread_bits4(int bits) {
  return (bits & 1) | ((bits & 2) << 7) | ((bits & 4) << 14) | ((bits & 8) << 21);
}

// Sum of the four signed bytes of a.
TENBIN_HD int byte_sum(int a) {
  return dp4a(0x01010101, a, 0);
}

// Q4_K: 16 lanes per super-block; slice s covers qs bytes 32c + l0 .. +7 (c = s / 4,
// l0 = 8 * (s % 4)): elements 64c + l0.. of group 2c (low nibbles) and 64c + 32 + l0.. of group
// 2c + 1 (high nibbles). Blocks are 144 bytes, so 4-byte loads are aligned. (Q5_K, summed in
// the CPU's lane order, is in matvec_lanes.cu.)
template <>
struct QuantFormat<DType::kQ4_K> {
  static constexpr int kActScales = 1;
  static constexpr int kAlign = 4;
  static constexpr int kLanes = 16;
  static constexpr int kBlockElems = kQKK;
  static constexpr int kBlockBytes = sizeof(BlockQ4_K);
  static constexpr bool kHasMin = true;
  static constexpr int kQsAt = 4 + kKScaleBytes;
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
    w.q[0] = load_i32(b + kQsAt + 32 * c + l0);
    w.q[1] = load_i32(b + kQsAt + 32 * c + l0 + 4);
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
    int dlo = dp4a(w.q[0] & kLow4, lo.x, 0);
    dlo = dp4a(w.q[1] & kLow4, lo.y, dlo);
    int dhi = dp4a((w.q[0] >> 4) & kLow4, hi.x, 0);
    dhi = dp4a((w.q[1] >> 4) & kLow4, hi.y, dhi);
    const int slo = byte_sum(lo.x) + byte_sum(lo.y);
    const int shi = byte_sum(hi.x) + byte_sum(hi.y);
    isum = w.sc[0] * dlo + w.sc[1] * dhi;
    msum = w.mn[0] * slo + w.mn[1] * shi;
  }
  TENBIN_HD static float term(const Slice& w, const float* ad, int isum, int msum) {
    return k_term(w.d, w.dmin, ad[0], isum, msum);
  }
};

// Q6_K: 16 lanes per super-block; slice s covers l0 .. l0 + 3 (l0 = 4 * (s % 8)) of half
// h = s / 8 for all four k: elements 128h + 32k + l0 .. +3, low nibbles from ql (k = 0, 2: bytes
// 64h + l0, k = 1, 3: bytes 64h + 32 + l0; high nibble for k >= 2), top bits from qh bytes
// 32h + l0 (bit pair k), group scale scales[8h + 2k + l0 / 16]; stored as q + 32.
template <>
struct QuantFormat<DType::kQ6_K> {
  static constexpr int kActScales = 1;
  static constexpr int kAlign = 2;
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
  TENBIN_HD static float term(const Slice& w, const float* ad, int isum, int) {
    return mul_rn(mul_rn(w.d, ad[0]), static_cast<float>(isum));
  }
};

// Q5_0: 2 lanes per block like Q4_0: slice s holds qs bytes 8s..8s+7, i.e. elements 8s..8s+7
// (low nibbles) and 16+8s..16+8s+7 (high nibbles); the fifth bit of element j is bit j of the
// little-endian word qh; stored as q + 16. (Q4_1 and Q5_1, summed in the CPU's lane order, are
// in matvec_lanes.cu.)
template <>
struct QuantFormat<DType::kQ5_0> {
  static constexpr int kActScales = 1;
  static constexpr int kAlign = 2;
  static constexpr int kLanes = 2;
  static constexpr int kBlockElems = kQK;
  static constexpr int kBlockBytes = sizeof(BlockQ5_0);
  static constexpr bool kHasMin = false;
  struct Slice {
    float d;
    int q[2];
    int qh;  // the 8 fifth bits of the low elements, then the 8 of the high ones
  };
  TENBIN_HD static void load(const uint8_t* b, int s, Slice& w) {
    w.d = f16_bits_to_f32(load_u16(b));
    w.q[0] = load_i32_a2(b + 6 + 8 * s);
    w.q[1] = load_i32_a2(b + 6 + 8 * s + 4);
    const auto qh = static_cast<uint32_t>(load_i32_a2(b + 2));
    w.qh = static_cast<int>(((qh >> (8 * s)) & 0xFF) | (((qh >> (16 + 8 * s)) & 0xFF) << 8));
  }
  // Four elements from nibble word `nibbles` (shift 0: low, 4: high) and their fifth bits.
  TENBIN_HD static int values(int nibbles, int shift, int high_bits) {
    return vsub4(((nibbles >> shift) & kLow4) | (spread_bits4(high_bits) << 4), 0x10101010);
  }
  TENBIN_HD static void dot(const Slice& w, const int8_t* a, int s, int& isum, int&) {
    const int2 lo = *reinterpret_cast<const int2*>(a + 8 * s);
    const int2 hi = *reinterpret_cast<const int2*>(a + kQK / 2 + 8 * s);
    isum = dp4a(values(w.q[0], 0, w.qh & 0xF), lo.x, 0);
    isum = dp4a(values(w.q[1], 0, (w.qh >> 4) & 0xF), lo.y, isum);
    isum = dp4a(values(w.q[0], 4, (w.qh >> 8) & 0xF), hi.x, isum);
    isum = dp4a(values(w.q[1], 4, (w.qh >> 12) & 0xF), hi.y, isum);
  }
  TENBIN_HD static float term(const Slice& w, const float* ad, int isum, int) {
    return mul_rn(mul_rn(w.d, ad[0]), static_cast<float>(isum));
  }
};

// Q2_K and Q3_K: 16 lanes per super-block; slice s covers bytes l0..l0+3 (l0 = 4 * (s % 8)) of
// the 32-byte qs half h = s / 8, whose bit pair k gives elements 128h + 32k + l0..+3 (group
// 8h + 2k + l0 / 16) for k < 4. Q2_K: q = the pair, minus min * (per-group activation sums);
// Q3_K: q = the pair minus 4 where bit 4h + k of hmask[l] is clear, signed scales offset by 32.
template <DType T>
struct TwoBitK {
  static constexpr bool kQ3 = T == DType::kQ3_K;
  static constexpr int kActScales = 1;
  static constexpr int kAlign = kQ3 ? 2 : 4;
  static constexpr int kLanes = 16;
  static constexpr int kBlockElems = kQKK;
  static constexpr int kBlockBytes = kQ3 ? sizeof(BlockQ3_K) : sizeof(BlockQ2_K);
  static constexpr bool kHasMin = !kQ3;
  static constexpr int kQsAt = kQ3 ? kQKK / 8 : kQKK / 16;
  struct Slice {
    float d, dmin;
    int q, hmask;
    int sc[4], mn[4];
  };
  TENBIN_HD static void load(const uint8_t* b, int s, Slice& w) {
    const int h = s / 8, l0 = 4 * (s % 8);
    w.q = load_i32_a2(b + kQsAt + 32 * h + l0);
    const int g0 = 8 * h + l0 / 16;
    if constexpr (kQ3) {
      w.hmask = load_i32_a2(b + l0);
      const uint8_t* sb = b + kQKK / 8 + kQKK / 4;
      TENBIN_UNROLL
      for (int k = 0; k < 4; ++k) {
        const int g = g0 + 2 * k;  // tensor/blocks.h q3k_scale
        const int low = g < 8 ? (sb[g] & 0xF) : (sb[g - 8] >> 4);
        const int high = (sb[8 + g % 4] >> (2 * (g / 4))) & 3;
        w.sc[k] = (low | (high << 4)) - 32;
        w.mn[k] = 0;
      }
      w.d = f16_bits_to_f32(load_u16(sb + kKScaleBytes));
      w.dmin = 0.0f;
    } else {
      w.hmask = 0;
      TENBIN_UNROLL
      for (int k = 0; k < 4; ++k) {
        w.sc[k] = b[g0 + 2 * k] & 0xF;
        w.mn[k] = b[g0 + 2 * k] >> 4;
      }
      w.d = f16_bits_to_f32(load_u16(b + kQKK / 16 + kQKK / 4));
      w.dmin = f16_bits_to_f32(load_u16(b + kQKK / 16 + kQKK / 4 + 2));
    }
  }
  TENBIN_HD static void dot(const Slice& w, const int8_t* a, int s, int& isum, int& msum) {
    const int h = s / 8, l0 = 4 * (s % 8);
    isum = 0;
    msum = 0;
    TENBIN_UNROLL
    for (int k = 0; k < 4; ++k) {
      int q = (w.q >> (2 * k)) & 0x03030303;
      if constexpr (kQ3) {
        const int bit = (w.hmask >> (4 * h + k)) & 0x01010101;
        q = vsub4(q | (bit << 2), 0x04040404);  // clear bit: q - 4
      }
      const int x = load_i32(a + 128 * h + 32 * k + l0);
      isum += w.sc[k] * dp4a(q, x, 0);
      if constexpr (!kQ3) msum += w.mn[k] * byte_sum(x);
    }
  }
  TENBIN_HD static float term(const Slice& w, const float* ad, int isum, int msum) {
    if constexpr (kQ3) return mul_rn(mul_rn(w.d, ad[0]), static_cast<float>(isum));
    return k_term(w.d, w.dmin, ad[0], isum, msum);
  }
};

template <>
struct QuantFormat<DType::kQ2_K> : TwoBitK<DType::kQ2_K> {};
template <>
struct QuantFormat<DType::kQ3_K> : TwoBitK<DType::kQ3_K> {};

}  // namespace tenbin::cuda
