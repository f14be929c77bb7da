// Byte layouts of the GGUF block-quantized formats, as they sit in a mapped file. Each struct is
// one block; `d`/`dmin` are IEEE f16 bit patterns (see tensor/half.h) except Q8_K's f32 `d`.
// Element order inside each block is documented next to its struct and implemented once in
// kernels/ref/dequantize.cc. Sizes are checked against the dtype table at compile time.
#pragma once

#include <cstdint>

namespace tenbin {

inline constexpr int kQK = 32;    // elements per block of the 32-element formats
inline constexpr int kQKK = 256;  // elements per super-block of the K formats
inline constexpr int kKScaleBytes = 12;

// x[j] = d * ((qs[j] & 15) - 8), x[j + 16] = d * ((qs[j] >> 4) - 8), j < 16.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
// As Q4_0 with an offset instead of -8: x = d * q + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
// 5-bit: low nibbles as Q4_0; bit j of qh (little-endian u32) is bit 4 of element j. x = d*(q-16).
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
// As Q5_0 with an offset: x = d * q + m.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
// x[j] = d * qs[j].
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
// As Q8_0 plus s = d * sum(qs) (an activation format).
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};

// 16 groups of 16; scales[g]: low nibble scale, high nibble min; 2-bit q in qs (4 per byte).
// x = d * (scales[g] & 15) * q - dmin * (scales[g] >> 4).
struct BlockQ2_K {
  uint8_t scales[kQKK / 16];
  uint8_t qs[kQKK / 4];
  uint16_t d;
  uint16_t dmin;
};
// 16 groups of 16; 2 low bits in qs, the third bit in hmask (bit clear means subtract 4);
// 16 signed 6-bit scales (offset 32) packed into 12 bytes. x = d * (scale - 32) * q.
struct BlockQ3_K {
  uint8_t hmask[kQKK / 8];
  uint8_t qs[kQKK / 4];
  uint8_t scales[kKScaleBytes];
  uint16_t d;
};
// 8 groups of 32; 6-bit scale and min per group packed into 12 bytes; 4-bit q.
// x = d * scale * q - dmin * min.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQKK / 2];
};
// As Q4_K with a fifth bit per element in qh.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQKK / 8];
  uint8_t qs[kQKK / 2];
};
// 16 groups of 16; 6-bit q (4 low bits in ql, 2 high bits in qh), offset 32; int8 scales.
// x = d * scales[g] * (q - 32).
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};
// Activation format for K-quant dots: x = d * qs; bsums[g] = sum of qs over group g of 16.
struct BlockQ8_K {
  float d;
  int8_t qs[kQKK];
  int16_t bsums[kQKK / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// Scale `j` (0..7) and min of a Q4_K/Q5_K super-block's 12 scale bytes. Bytes 0-3 hold the low
// 6 bits of scales 0-3, bytes 4-7 those of mins 0-3; bytes 8-11 hold the low 4 bits of
// scale/min 4-7 (scale in the low nibble), whose top 2 bits sit in the top bits of bytes 0-7.
inline void k4_scale_min(int j, const uint8_t* s, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Scale `i` (0..15) of a Q3_K super-block, still offset by 32. Low 4 bits: the low nibbles of
// bytes 0-7 hold scales 0-7, their high nibbles scales 8-15. High 2 bits: byte 8 + i%4,
// bit pair i/4.
inline int q3k_scale(int i, const uint8_t* s) {
  const int low = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
  const int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
  return low | (high << 4);
}

}  // namespace tenbin
