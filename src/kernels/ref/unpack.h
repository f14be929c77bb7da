// Integer views of the weight block formats: one block's elements as small integers plus its
// scales, in the element order the format defines (tensor/blocks.h). The reference
// dequantizers (x = d * scale * q - dmin * min) and the reference integer dot products are both
// written on these views, so each format's bit layout is decoded in exactly one place.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {

// A 32-element block: x[j] = d * q[j] (+ m for the formats with an offset).
struct SmallBlock {
  float d = 0;
  float m = 0;
  int8_t q[kQK] = {};
};

template <class Block>
inline constexpr bool kHasOffset =
    std::is_same_v<Block, BlockQ4_1> || std::is_same_v<Block, BlockQ5_1>;

// Elements j and j + 16 share byte j of qs (low and high nibble).
inline void unpack_nibbles(const uint8_t* qs, int bias, int8_t* q) {
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = static_cast<int8_t>((qs[j] & 0xF) - bias);
    q[j + kQK / 2] = static_cast<int8_t>((qs[j] >> 4) - bias);
  }
}

// As unpack_nibbles, plus bit j of qh (little-endian u32) as bit 4 of element j.
inline void unpack_5bit(const uint8_t* qh_bytes, const uint8_t* qs, int bias, int8_t* q) {
  uint32_t qh = 0;
  std::memcpy(&qh, qh_bytes, 4);  // little-endian host assumed (x86)
  for (int j = 0; j < kQK; ++j) {
    const int low = j < kQK / 2 ? qs[j] & 0xF : qs[j - kQK / 2] >> 4;
    q[j] = static_cast<int8_t>((low | static_cast<int>(((qh >> j) & 1) << 4)) - bias);
  }
}

inline void unpack(const BlockQ4_0& b, SmallBlock* v) {
  v->d = fp16_to_f32(b.d);
  unpack_nibbles(b.qs, 8, v->q);
}
inline void unpack(const BlockQ4_1& b, SmallBlock* v) {
  v->d = fp16_to_f32(b.d);
  v->m = fp16_to_f32(b.m);
  unpack_nibbles(b.qs, 0, v->q);
}
inline void unpack(const BlockQ5_0& b, SmallBlock* v) {
  v->d = fp16_to_f32(b.d);
  unpack_5bit(b.qh, b.qs, 16, v->q);
}
inline void unpack(const BlockQ5_1& b, SmallBlock* v) {
  v->d = fp16_to_f32(b.d);
  v->m = fp16_to_f32(b.m);
  unpack_5bit(b.qh, b.qs, 0, v->q);
}
inline void unpack(const BlockQ8_0& b, SmallBlock* v) {
  v->d = fp16_to_f32(b.d);
  std::memcpy(v->q, b.qs, kQK);
}

// A 256-element super-block: x[e] = d * scale[g] * q[e] - dmin * min[g], g = e / group.
struct KBlock {
  float d = 0;
  float dmin = 0;  // 0 (and min[] all 0) for Q3_K and Q6_K
  int group = 16;  // elements per scale: 16 (Q2_K, Q3_K, Q6_K) or 32 (Q4_K, Q5_K)
  int scale[16] = {};
  int min[16] = {};
  int8_t q[kQKK] = {};
};

template <class Block>
inline constexpr bool kHasMin =
    std::is_same_v<Block, BlockQ2_K> || std::is_same_v<Block, BlockQ4_K> ||
    std::is_same_v<Block, BlockQ5_K>;

// Q2_K: each 32-byte half of qs serves 128 elements: bit pair `shift` of byte l gives element
// 32*(shift/2) + l of that half. Q3_K walks the same way; its third bit for pass p (0..7 over
// the block) is bit p of hmask[l], and a clear bit means subtract 4.
inline void unpack_2bit_walk(const uint8_t* qs, const uint8_t* hmask, int8_t* q) {
  int pass = 0;
  for (int half = 0; half < 2; ++half) {
    const uint8_t* src = qs + 32 * half;
    for (int shift = 0; shift < 8; shift += 2, ++pass) {
      for (int l = 0; l < 32; ++l, ++q) {
        int v = (src[l] >> shift) & 3;
        if (hmask != nullptr) v -= (hmask[l] >> pass) & 1 ? 0 : 4;
        *q = static_cast<int8_t>(v);
      }
    }
  }
}

inline void unpack(const BlockQ2_K& b, KBlock* v) {
  v->d = fp16_to_f32(b.d);
  v->dmin = fp16_to_f32(b.dmin);
  v->group = 16;
  for (int g = 0; g < 16; ++g) {
    v->scale[g] = b.scales[g] & 0xF;
    v->min[g] = b.scales[g] >> 4;
  }
  unpack_2bit_walk(b.qs, nullptr, v->q);
}

inline void unpack(const BlockQ3_K& b, KBlock* v) {
  v->d = fp16_to_f32(b.d);
  v->group = 16;
  for (int g = 0; g < 16; ++g) v->scale[g] = q3k_scale(g, b.scales) - 32;
  unpack_2bit_walk(b.qs, b.hmask, v->q);
}

// Q4_K/Q5_K: 32 bytes of qs per 64 elements, low nibbles then high nibbles; group g = 2c + nib.
// Q5_K's bit g of qh[l] is bit 4 of element l of group g.
inline void unpack_k4(const uint8_t* scales, const uint8_t* qs, const uint8_t* qh, KBlock* v) {
  v->group = 32;
  for (int g = 0; g < 8; ++g) {
    uint8_t sc = 0, mn = 0;
    k4_scale_min(g, scales, &sc, &mn);
    v->scale[g] = sc;
    v->min[g] = mn;
  }
  for (int c = 0; c < 4; ++c) {
    for (int nib = 0; nib < 2; ++nib) {
      const int g = 2 * c + nib;
      for (int l = 0; l < 32; ++l) {
        int x = (qs[32 * c + l] >> (4 * nib)) & 0xF;
        if (qh != nullptr) x |= ((qh[l] >> g) & 1) << 4;
        v->q[32 * g + l] = static_cast<int8_t>(x);
      }
    }
  }
}

inline void unpack(const BlockQ4_K& b, KBlock* v) {
  v->d = fp16_to_f32(b.d);
  v->dmin = fp16_to_f32(b.dmin);
  unpack_k4(b.scales, b.qs, nullptr, v);
}

inline void unpack(const BlockQ5_K& b, KBlock* v) {
  v->d = fp16_to_f32(b.d);
  v->dmin = fp16_to_f32(b.dmin);
  unpack_k4(b.scales, b.qs, b.qh, v);
}

// Q6_K: per 128 elements, 64 bytes of ql and 32 of qh. Element 32*k + l (k < 4, l < 32) takes
// its low nibble from ql[l + 32*(k&1)] (low nibble for k < 2, high for k >= 2) and its top two
// bits from bit pair k of qh[l]; offset 32; group of 16 elements e uses scales[e / 16].
inline void unpack(const BlockQ6_K& b, KBlock* v) {
  v->d = fp16_to_f32(b.d);
  v->group = 16;
  for (int g = 0; g < 16; ++g) v->scale[g] = b.scales[g];
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = b.ql + 64 * half;
    const uint8_t* qh = b.qh + 32 * half;
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const int low = (ql[l + 32 * (k & 1)] >> (4 * (k >> 1))) & 0xF;
        const int q = (low | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
        v->q[128 * half + 32 * k + l] = static_cast<int8_t>(q);
      }
    }
  }
}

}  // namespace tenbin::kernels::ref
