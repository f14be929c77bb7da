// Scalar reference of the elementwise, normalization, RoPE and attention ops.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/ref/ref_ops.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {

float rms_norm_scale(const float* x, int64_t n, float eps) {
  double lanes[kSquareLanes] = {};
  add_square_tail(x, 0, n, lanes);
  return rms_norm_scale_from_lanes(lanes, n, eps);
}

void add_square_tail(const float* x, int64_t begin, int64_t n, double* lanes) {
  for (int64_t i = begin; i < n; ++i) lanes[i % kSquareLanes] += static_cast<double>(x[i] * x[i]);
}

float rms_norm_scale_from_lanes(double* lanes, int64_t n, float eps) {
  for (int w = kSquareLanes / 2; w > 0; w /= 2) {
    for (int j = 0; j < w; ++j) lanes[j] += lanes[j + w];
  }
  const auto mean = static_cast<float>(lanes[0] / static_cast<double>(n));
  return 1.0f / std::sqrt(mean + eps);
}

void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  const float scale = rms_norm_scale(x, n, eps);
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * weight[i];
}

void rope_angles(int pos, const RopeParams& params, float* cos_out, float* sin_out) {
  const int half = params.rot_dim / 2;
  const float theta_scale = std::pow(params.freq_base, -2.0f / static_cast<float>(params.rot_dim));
  auto theta = static_cast<float>(pos);
  for (int i = 0; i < half; ++i, theta *= theta_scale) {
    const float angle = params.freq_scale * theta;
    cos_out[i] = std::cos(angle);
    sin_out[i] = std::sin(angle);
  }
}

void rope(float* x, int n_heads, int head_dim, int pos, const RopeParams& params) {
  const int half = params.rot_dim / 2;
  std::vector<float> cos_t(half), sin_t(half);
  rope_angles(pos, params, cos_t.data(), sin_t.data());
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      // Normal: pair (2i, 2i+1). NeoX: pair (i, i + rot_dim/2).
      const int a = params.style == RopeStyle::kNormal ? 2 * i : i;
      const int b = params.style == RopeStyle::kNormal ? 2 * i + 1 : i + half;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * cos_t[i] - x1 * sin_t[i];
      v[b] = x0 * sin_t[i] + x1 * cos_t[i];
    }
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float max = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

namespace {
// Element `i` of a K/V cache row of either element type.
float kv_at(const void* base, DType type, int64_t i) {
  if (type == DType::kF16) return fp16_to_f32(static_cast<const uint16_t*>(base)[i]);
  return static_cast<const float*>(base)[i];
}
// With an F16 cache the query and the probabilities are rounded to f16 before their dots.
float round_like(DType kv_type, float x) {
  return kv_type == DType::kF16 ? fp16_to_f32(f32_to_fp16(x)) : x;
}
}  // namespace

std::vector<int64_t> context_slots(const KvView& kv, int64_t n_ctx) {
  std::vector<int64_t> slots(static_cast<size_t>(n_ctx));
  for (int64_t p = 0; p < n_ctx; ++p) {
    slots[p] =
        static_cast<int64_t>(kv.block_table[p / kv.block_size]) * kv.block_size + p % kv.block_size;
  }
  return slots;
}

void attention(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
               float* out) {
  if (kv.type == DType::kQ8_0) return attention_q8_0(q, kv, n_ctx, shape, out);
  if (kv.type == DType::kBF16) return attention_bf16(q, kv, n_ctx, shape, out);
  const int group = shape.n_heads / shape.n_kv_heads;  // query heads per kv head
  const int hd = shape.head_dim;
  const std::vector<int64_t> slots = context_slots(kv, n_ctx);
  auto index = [&](bool is_key, int64_t p, int g, int d) {
    return kv_element_index(kv.layout, is_key, slots[p], kv.block_size, kv.row_stride, hd, g, d);
  };
  std::vector<float> scores(static_cast<size_t>(n_ctx));
  for (int h = 0; h < shape.n_heads; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * hd;
    const int g = h / group;
    for (int64_t p = 0; p < n_ctx; ++p) {
      double dot = 0;
      for (int d = 0; d < hd; ++d) {
        dot += static_cast<double>(round_like(kv.type, qh[d])) *
               kv_at(kv.k, kv.type, index(true, p, g, d));
      }
      scores[p] = static_cast<float>(dot) * shape.scale;
    }
    softmax(scores.data(), n_ctx);
    for (float& s : scores) s = round_like(kv.type, s);
    float* oh = out + static_cast<int64_t>(h) * hd;
    for (int d = 0; d < hd; ++d) {
      double acc = 0;
      for (int64_t p = 0; p < n_ctx; ++p) {
        acc += static_cast<double>(scores[p]) * kv_at(kv.v, kv.type, index(false, p, g, d));
      }
      oh[d] = static_cast<float>(acc);
    }
  }
}

void attention_span(const float* q, int64_t q_stride, int64_t n_q, const KvView& kv,
                    int64_t first_n_ctx, const AttentionShape& shape, float* out,
                    int64_t out_stride) {
  for (int64_t i = 0; i < n_q; ++i) {
    ref::attention(q + i * q_stride, kv, first_n_ctx + i, shape, out + i * out_stride);
  }
}

}  // namespace tenbin::kernels::ref
