// Weight rows of every GGUF weight type decoded 8 elements at a time, with the reference's
// formulas in f32 (kernels/ref/dequantize.cc: x = d * q, and (d * scale) * q - dmin * min for
// the K formats, each product and difference rounded as there), so the results are exact.
// Host-callable too, so the decoding can be checked against the reference on a CPU.
#pragma once

#include <cstdint>

#include "cuda/device_util.cuh"
#include "tensor/blocks.h"
#include "tensor/dtype.h"

namespace tenbin::cuda {

inline constexpr int kGroup = 8;  // elements per thread; divides every block size

// Elements e0..e0+7 (e0 a multiple of 8, n_valid of them inside the row) of a row.
template <DType T>
TENBIN_HD void decode8(const uint8_t* row, int64_t e0, int n_valid, float out[kGroup]) {
  if constexpr (T == DType::kF32) {
    const auto* x = reinterpret_cast<const float*>(row);
    for (int j = 0; j < kGroup; ++j) out[j] = j < n_valid ? x[e0 + j] : 0.0f;
  } else if constexpr (T == DType::kF16 || T == DType::kBF16) {
    const auto* h = reinterpret_cast<const uint16_t*>(row);
    for (int j = 0; j < kGroup; ++j) {
      const uint16_t bits = j < n_valid ? h[e0 + j] : 0;
      out[j] = T == DType::kF16 ? f16_bits_to_f32(bits) : bf16_bits_to_f32(bits);
    }
  } else if constexpr (T == DType::kQ8_0) {
    const uint8_t* b = row + (e0 / kQK) * sizeof(BlockQ8_0);
    const float d = f16_bits_to_f32(load_u16(b));
    const auto* qs = reinterpret_cast<const int8_t*>(b + 2);
    const int j0 = static_cast<int>(e0 % kQK);
    TENBIN_UNROLL
    for (int j = 0; j < kGroup; ++j) out[j] = d * static_cast<float>(qs[j0 + j]);
  } else if constexpr (T == DType::kQ4_0) {
    const uint8_t* b = row + (e0 / kQK) * sizeof(BlockQ4_0);
    const float d = f16_bits_to_f32(load_u16(b));
    const uint8_t* qs = b + 2;
    const int j0 = static_cast<int>(e0 % kQK);  // 0, 8: low nibbles; 16, 24: high nibbles
    const int shift = j0 < kQK / 2 ? 0 : 4;
    const int byte0 = j0 % (kQK / 2);
    TENBIN_UNROLL
    for (int j = 0; j < kGroup; ++j) {
      out[j] = d * static_cast<float>(((qs[byte0 + j] >> shift) & 0xF) - 8);
    }
  } else if constexpr (T == DType::kQ4_1 || T == DType::kQ5_0 || T == DType::kQ5_1) {
    // d, [m], [qh], qs: x = d * q (+ m); Q5 formats take bit j of qh as bit 4 of element j.
    constexpr bool kOffset = T != DType::kQ5_0;
    constexpr int kBytes = T == DType::kQ4_1   ? sizeof(BlockQ4_1)
                           : T == DType::kQ5_0 ? sizeof(BlockQ5_0)
                                               : sizeof(BlockQ5_1);
    constexpr int kQhAt = T == DType::kQ4_1 ? -1 : (kOffset ? 4 : 2);
    constexpr int kQsAt = T == DType::kQ4_1 ? 4 : kQhAt + 4;
    constexpr int kBias = T == DType::kQ5_0 ? 16 : 0;
    const uint8_t* b = row + (e0 / kQK) * kBytes;
    const float d = f16_bits_to_f32(load_u16(b));
    const float m = kOffset ? f16_bits_to_f32(load_u16(b + 2)) : 0.0f;
    const uint32_t qh =
        kQhAt >= 0 ? static_cast<uint32_t>(load_i32_a2(b + (kQhAt >= 0 ? kQhAt : 0))) : 0u;
    const int j0 = static_cast<int>(e0 % kQK);
    const int shift = j0 < kQK / 2 ? 0 : 4;
    const int byte0 = j0 % (kQK / 2);
    TENBIN_UNROLL
    for (int j = 0; j < kGroup; ++j) {
      const int q = (((b[kQsAt + byte0 + j] >> shift) & 0xF) |
                     static_cast<int>(((qh >> (j0 + j)) & 1) << 4)) -
                    kBias;
      const float x = mul_rn(d, static_cast<float>(q));
      out[j] = kOffset ? x + m : x;
    }
  } else if constexpr (T == DType::kQ2_K || T == DType::kQ3_K) {
    // The 2-bit walk (kernels/ref/unpack.h): element 128h + 32k + l is bit pair k of qs byte
    // 32h + l; Q3_K subtracts 4 where bit 4h + k of hmask[l] is clear. Groups of 16.
    constexpr bool kQ3 = T == DType::kQ3_K;
    const uint8_t* b = row + (e0 / kQKK) * (kQ3 ? sizeof(BlockQ3_K) : sizeof(BlockQ2_K));
    const int e = static_cast<int>(e0 % kQKK);
    const int h = e / 128, k = (e % 128) / 32, l0 = e % 32, g = e / 16;
    const uint8_t* qs = b + (kQ3 ? kQKK / 8 : kQKK / 16) + 32 * h + l0;
    float dl, ml = 0.0f;
    if constexpr (kQ3) {
      const uint8_t* sb = b + kQKK / 8 + kQKK / 4;
      const int low = g < 8 ? (sb[g] & 0xF) : (sb[g - 8] >> 4);
      const int high = (sb[8 + g % 4] >> (2 * (g / 4))) & 3;
      dl = mul_rn(f16_bits_to_f32(load_u16(sb + kKScaleBytes)),
                  static_cast<float>((low | (high << 4)) - 32));
    } else {
      const uint8_t* dd = b + kQKK / 16 + kQKK / 4;
      dl = mul_rn(f16_bits_to_f32(load_u16(dd)), static_cast<float>(b[g] & 0xF));
      ml = mul_rn(f16_bits_to_f32(load_u16(dd + 2)), static_cast<float>(b[g] >> 4));
    }
    TENBIN_UNROLL
    for (int j = 0; j < kGroup; ++j) {
      int q = (qs[j] >> (2 * k)) & 3;
      if constexpr (kQ3) q -= (b[l0 + j] >> (4 * h + k)) & 1 ? 0 : 4;
      out[j] =
          kQ3 ? mul_rn(dl, static_cast<float>(q)) : sub_rn(mul_rn(dl, static_cast<float>(q)), ml);
    }
  } else if constexpr (T == DType::kQ4_K || T == DType::kQ5_K) {
    constexpr bool kFive = T == DType::kQ5_K;
    const uint8_t* b = row + (e0 / kQKK) * (kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K));
    const float d = f16_bits_to_f32(load_u16(b));
    const float dmin = f16_bits_to_f32(load_u16(b + 2));
    const uint8_t* s = b + 4;
    const uint8_t* qh = b + 4 + kKScaleBytes;  // Q5_K only
    const uint8_t* qs = b + 4 + kKScaleBytes + (kFive ? kQKK / 8 : 0);
    const int e = static_cast<int>(e0 % kQKK);
    const int g = e / 32, l0 = e % 32;  // group of 32 (scale g), element l0 of it
    int sc, mn;
    k4_scale_min_at(s, g, sc, mn);
    const float dl = mul_rn(d, static_cast<float>(sc));
    const float ml = mul_rn(dmin, static_cast<float>(mn));
    const uint8_t* q = qs + 32 * (g / 2) + l0;
    const int shift = 4 * (g % 2);
    TENBIN_UNROLL
    for (int j = 0; j < kGroup; ++j) {
      int v = (q[j] >> shift) & 0xF;
      if constexpr (kFive) v |= ((qh[l0 + j] >> g) & 1) << 4;
      out[j] = sub_rn(mul_rn(dl, static_cast<float>(v)), ml);
    }
  } else if constexpr (T == DType::kQ6_K) {
    const uint8_t* b = row + (e0 / kQKK) * sizeof(BlockQ6_K);
    const uint8_t* ql = b;
    const uint8_t* qh = b + kQKK / 2;
    const auto* scales = reinterpret_cast<const int8_t*>(b + kQKK / 2 + kQKK / 4);
    const float d = f16_bits_to_f32(load_u16(b + kQKK / 2 + kQKK / 4 + kQKK / 16));
    const int e = static_cast<int>(e0 % kQKK);
    const int h = e / 128, k = (e % 128) / 32, l0 = e % 32;
    const float dl = mul_rn(d, static_cast<float>(scales[e / 16]));  // 8 elements, one group
    const uint8_t* lo = ql + 64 * h + 32 * (k & 1) + l0;
    const uint8_t* hi = qh + 32 * h + l0;
    TENBIN_UNROLL
    for (int j = 0; j < kGroup; ++j) {
      const int q = (((lo[j] >> (4 * (k >> 1))) & 0xF) | (((hi[j] >> (2 * k)) & 3) << 4)) - 32;
      out[j] = mul_rn(dl, static_cast<float>(q));
    }
  }
}

}  // namespace tenbin::cuda
