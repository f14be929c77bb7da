// Scalar dequantization of every supported GGUF format, one block at a time, on the integer
// views of kernels/ref/unpack.h: x = d * q (+ m) for the 32-element formats and
// x = (d * scale) * q - dmin * min for the K formats.
#include <cstring>

#include "kernels/ref/ref_ops.h"
#include "kernels/ref/unpack.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {
namespace {

template <class Block>
void dequantize_small(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const Block*>(src);
  SmallBlock v;
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    unpack(b[i], &v);
    for (int j = 0; j < kQK; ++j) {
      dst[j] = v.d * static_cast<float>(v.q[j]);
      if constexpr (kHasOffset<Block>) dst[j] += v.m;
    }
  }
}

template <class Block>
void dequantize_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const Block*>(src);
  KBlock v;
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK) {
    unpack(b[i], &v);
    for (int e = 0; e < kQKK; ++e) {
      const int g = e / v.group;
      const float dl = v.d * static_cast<float>(v.scale[g]);
      dst[e] = dl * static_cast<float>(v.q[e]);
      if constexpr (kHasMin<Block>) dst[e] -= v.dmin * static_cast<float>(v.min[g]);
    }
  }
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
  dequantize_small<BlockQ4_0>(src, dst, n);
}
void dequantize_q4_1(const void* src, float* dst, int64_t n) {
  dequantize_small<BlockQ4_1>(src, dst, n);
}
void dequantize_q5_0(const void* src, float* dst, int64_t n) {
  dequantize_small<BlockQ5_0>(src, dst, n);
}
void dequantize_q5_1(const void* src, float* dst, int64_t n) {
  dequantize_small<BlockQ5_1>(src, dst, n);
}
void dequantize_q8_0(const void* src, float* dst, int64_t n) {
  dequantize_small<BlockQ8_0>(src, dst, n);
}

void dequantize_q8_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void dequantize_q2_k(const void* src, float* dst, int64_t n) {
  dequantize_k<BlockQ2_K>(src, dst, n);
}
void dequantize_q3_k(const void* src, float* dst, int64_t n) {
  dequantize_k<BlockQ3_K>(src, dst, n);
}
void dequantize_q4_k(const void* src, float* dst, int64_t n) {
  dequantize_k<BlockQ4_K>(src, dst, n);
}
void dequantize_q5_k(const void* src, float* dst, int64_t n) {
  dequantize_k<BlockQ5_K>(src, dst, n);
}
void dequantize_q6_k(const void* src, float* dst, int64_t n) {
  dequantize_k<BlockQ6_K>(src, dst, n);
}

void dequantize_q8_k(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQKK; ++i, dst += kQKK) {
    for (int j = 0; j < kQKK; ++j) dst[j] = b[i].d * static_cast<float>(b[i].qs[j]);
  }
}

}  // namespace tenbin::kernels::ref
