// Scalar dequantization of every supported GGUF format: one block at a time, in the element
// order the format defines (see tensor/blocks.h).
#include <cstring>

#include "kernels/ref/ref_ops.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {
namespace {

template <class Block>
const Block* blocks_of(const void* src) {
  return static_cast<const Block*>(src);
}

float h2f(uint16_t h) {
  return fp16_to_f32(h);
}

}  // namespace

void dequantize_f32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void dequantize_f16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
}

void dequantize_bf16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
}

void dequantize_q4_0(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ4_0>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = h2f(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = d * static_cast<float>((b[i].qs[j] & 0xF) - 8);
      dst[j + kQK / 2] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

void dequantize_q4_1(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ4_1>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = h2f(b[i].d);
    const float m = h2f(b[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = d * static_cast<float>(b[i].qs[j] & 0xF) + m;
      dst[j + kQK / 2] = d * static_cast<float>(b[i].qs[j] >> 4) + m;
    }
  }
}

namespace {
// The 5-bit values of one Q5_0/Q5_1 block, unsigned (0..31).
void q5_values(const uint8_t* qh_bytes, const uint8_t* qs, int* q) {
  uint32_t qh = 0;
  std::memcpy(&qh, qh_bytes, 4);  // little-endian host assumed (x86)
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = (qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1) << 4);
    q[j + kQK / 2] = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
  }
}
}  // namespace

void dequantize_q5_0(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ5_0>(src);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = h2f(b[i].d);
    q5_values(b[i].qh, b[i].qs, q);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(q[j] - 16);
  }
}

void dequantize_q5_1(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ5_1>(src);
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = h2f(b[i].d);
    const float m = h2f(b[i].m);
    q5_values(b[i].qh, b[i].qs, q);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(q[j]) + m;
  }
}

void dequantize_q8_0(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ8_0>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = h2f(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void dequantize_q8_1(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ8_1>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = h2f(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

// Q2_K: each 32-byte half of qs serves 128 elements: bit pair `shift` of byte l gives
// element 32*(shift/2) + l; groups of 16 take consecutive scale bytes.
void dequantize_q2_k(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ2_K>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = h2f(b[i].d);
    const float dmin = h2f(b[i].dmin);
    int group = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part, ++group, dst += 16) {
          const uint8_t sc = b[i].scales[group];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l) {
            dst[l] = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
          }
        }
      }
    }
  }
}

// Q3_K: same walk as Q2_K; the hmask bit for element l of pass p (0..7) is bit p of hmask[l].
void dequantize_q3_k(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ3_K>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = h2f(b[i].d);
    int group = 0;
    int pass = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b[i].qs + 32 * half;
      for (int shift = 0; shift < 8; shift += 2, ++pass) {
        for (int part = 0; part < 2; ++part, ++group, dst += 16) {
          const float dl = d * static_cast<float>(q3k_scale(group, b[i].scales) - 32);
          for (int l = 0; l < 16; ++l) {
            const int e = 16 * part + l;
            const int low = (q[e] >> shift) & 3;
            const int sub = (b[i].hmask[e] >> pass) & 1 ? 0 : 4;
            dst[l] = dl * static_cast<float>(low - sub);
          }
        }
      }
    }
  }
}

// Q4_K: 32 bytes of qs per 64 elements: low nibbles then high nibbles, one scale/min each.
void dequantize_q4_k(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ4_K>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = h2f(b[i].d);
    const float dmin = h2f(b[i].dmin);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = b[i].qs + 32 * c;
      for (int nib = 0; nib < 2; ++nib, dst += 32) {
        uint8_t sc = 0, mn = 0;
        k4_scale_min(2 * c + nib, b[i].scales, &sc, &mn);
        const float dl = d * sc;
        const float ml = dmin * mn;
        for (int l = 0; l < 32; ++l) {
          dst[l] = dl * static_cast<float>((q[l] >> (4 * nib)) & 0xF) - ml;
        }
      }
    }
  }
}

// Q5_K: as Q4_K; bit g of qh[l] is bit 4 of element l of group g.
void dequantize_q5_k(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ5_K>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = h2f(b[i].d);
    const float dmin = h2f(b[i].dmin);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = b[i].qs + 32 * c;
      for (int nib = 0; nib < 2; ++nib, dst += 32) {
        const int g = 2 * c + nib;
        uint8_t sc = 0, mn = 0;
        k4_scale_min(g, b[i].scales, &sc, &mn);
        const float dl = d * sc;
        const float ml = dmin * mn;
        for (int l = 0; l < 32; ++l) {
          const int v = ((q[l] >> (4 * nib)) & 0xF) | (((b[i].qh[l] >> g) & 1) << 4);
          dst[l] = dl * static_cast<float>(v) - ml;
        }
      }
    }
  }
}

// Q6_K: per 128 elements, 64 bytes of ql and 32 of qh. Element 32*k + l (k < 4, l < 32) takes
// its low nibble from ql[l + 32*(k&1)] (low nibble for k < 2, high for k >= 2) and its top two
// bits from bit pair k of qh[l]; group of 16 elements e uses scales[e / 16].
void dequantize_q6_k(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ6_K>(src);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = h2f(b[i].d);
    for (int half = 0; half < 2; ++half, dst += 128) {
      const uint8_t* ql = b[i].ql + 64 * half;
      const uint8_t* qh = b[i].qh + 32 * half;
      const int8_t* sc = b[i].scales + 8 * half;
      for (int k = 0; k < 4; ++k) {
        for (int l = 0; l < 32; ++l) {
          const int low = (ql[l + 32 * (k & 1)] >> (4 * (k >> 1))) & 0xF;
          const int q = (low | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
          const int e = 32 * k + l;
          dst[e] = d * static_cast<float>(sc[e / 16]) * static_cast<float>(q);
        }
      }
    }
  }
}

void dequantize_q8_k(const void* src, float* dst, int64_t n) {
  const auto* b = blocks_of<BlockQ8_K>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK) {
    for (int j = 0; j < kQKK; ++j) dst[j] = b[i].d * static_cast<float>(b[i].qs[j]);
  }
}

}  // namespace tenbin::kernels::ref
