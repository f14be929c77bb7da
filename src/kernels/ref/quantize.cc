// Scalar quantizers: the float formats, the absmax block schemes of stored weights (Q8_0,
// Q4_0; the K formats Q4_K and Q6_K live in quantize_k.cc), the activation formats of the
// matmul recipe (Q8_0, Q8_1, Q8_K; see ops.h), and the per-type dispatch of the reference
// dequantize_row / quantize_row.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ref/ref_ops.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {
namespace {

int round_even(float v) {
  return static_cast<int>(std::nearbyint(v));
}

}  // namespace

void quantize_f32(const float* x, void* dst, int64_t n) {
  std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
}

void quantize_f16(const float* x, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_fp16(x[i]);
}

void quantize_bf16(const float* x, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(x[i]);
}

void quantize_q8_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_fp16(d);
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = static_cast<int8_t>(round_even(x[j] * id));
  }
}

void quantize_q4_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0, max = 0;  // max: the value of largest magnitude, with its sign
    for (int j = 0; j < kQK; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b[i].d = f32_to_fp16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::clamp(round_even(x[j] * id) + 8, 0, 15);
      const int hi = std::clamp(round_even(x[j + kQK / 2] * id) + 8, 0, 15);
      b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_q8_k(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    float amax = 0, max = 0;  // max: the value of largest magnitude (first one), with its sign
    for (int j = 0; j < kQKK; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (amax == 0) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.0f / max;
    b[i].d = 1.0f / iscale;
    for (int j = 0; j < kQKK; ++j) {
      b[i].qs[j] = static_cast<int8_t>(std::min(127, round_even(iscale * x[j])));
    }
    for (int g = 0; g < kQKK / 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += b[i].qs[16 * g + l];
      b[i].bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

namespace {
// One 32-block of the activation recipe; returns the unrounded d and sum(q).
float act_block_q8(const float* x, int8_t* q, int* qsum) {
  float amax = 0;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0 ? 127.0f / amax : 0.0f;
  *qsum = 0;
  for (int j = 0; j < kQK; ++j) {
    q[j] = static_cast<int8_t>(round_even(x[j] * id));
    *qsum += q[j];
  }
  return d;
}
}  // namespace

void quantize_act_q8_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    int qsum = 0;
    b[i].d = f32_to_fp16(act_block_q8(x, b[i].qs, &qsum));
  }
}

void quantize_act_q8_1(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    int qsum = 0;
    const float d = act_block_q8(x, b[i].qs, &qsum);
    b[i].d = f32_to_fp16(d);
    b[i].s = f32_to_fp16(d * static_cast<float>(qsum));
  }
}

QuantizeActFn quantize_act_for(DType act) {
  switch (act) {
    case DType::kF32:
      return quantize_f32;
    case DType::kF16:
      return quantize_f16;
    case DType::kBF16:
      return quantize_bf16;
    case DType::kQ8_0:
      return quantize_act_q8_0;
    case DType::kQ8_1:
      return quantize_act_q8_1;
    case DType::kQ8_K:
      return quantize_q8_k;
    default:
      return nullptr;
  }
}

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case DType::kF32:
      return dequantize_f32(src, dst, n);
    case DType::kF16:
      return dequantize_f16(src, dst, n);
    case DType::kBF16:
      return dequantize_bf16(src, dst, n);
    case DType::kQ4_0:
      return dequantize_q4_0(src, dst, n);
    case DType::kQ4_1:
      return dequantize_q4_1(src, dst, n);
    case DType::kQ5_0:
      return dequantize_q5_0(src, dst, n);
    case DType::kQ5_1:
      return dequantize_q5_1(src, dst, n);
    case DType::kQ8_0:
      return dequantize_q8_0(src, dst, n);
    case DType::kQ8_1:
      return dequantize_q8_1(src, dst, n);
    case DType::kQ2_K:
      return dequantize_q2_k(src, dst, n);
    case DType::kQ3_K:
      return dequantize_q3_k(src, dst, n);
    case DType::kQ4_K:
      return dequantize_q4_k(src, dst, n);
    case DType::kQ5_K:
      return dequantize_q5_k(src, dst, n);
    case DType::kQ6_K:
      return dequantize_q6_k(src, dst, n);
    case DType::kQ8_K:
      return dequantize_q8_k(src, dst, n);
  }
}

Status quantize_row(DType type, const float* src, void* dst, int64_t n) {
  if (n % traits(type).block_elems != 0) {
    return Status::Errorf("quantize_row: {} elements is not a multiple of the {} block size {}", n,
                          dtype_name(type), traits(type).block_elems);
  }
  switch (type) {
    case DType::kF32:
      quantize_f32(src, dst, n);
      break;
    case DType::kF16:
      quantize_f16(src, dst, n);
      break;
    case DType::kBF16:
      quantize_bf16(src, dst, n);
      break;
    case DType::kQ8_0:
      quantize_q8_0(src, dst, n);
      break;
    case DType::kQ4_0:
      quantize_q4_0(src, dst, n);
      break;
    case DType::kQ4_K:
      quantize_q4_k(src, dst, n);
      break;
    case DType::kQ5_K:
      quantize_q5_k(src, dst, n);
      break;
    case DType::kQ6_K:
      quantize_q6_k(src, dst, n);
      break;
    case DType::kQ8_K:
      quantize_q8_k(src, dst, n);
      break;
    default:
      return Status::Errorf(
          "quantize_row: cannot quantize to {} (supported: f32, f16, bf16, "
          "q8_0, q4_0, q4_K, q5_K, q6_K, q8_K)",
          dtype_name(type));
  }
  return Status::Ok();
}

}  // namespace tenbin::kernels::ref
