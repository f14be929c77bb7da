// Scalar reference of attention over a BF16 KV cache, and of how a row is stored into one: the
// recipe (kernels/ops.h) every SIMD variant follows operation for operation, the pair products
// of AVX-512 BF16's vdpbf16ps.
#include <cmath>
#include <vector>

#include "kernels/ref/ref_ops.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {

void store_kv_bf16(const float* x, KvLayout layout, bool is_key, void* base, int64_t slot,
                   int block_size, int64_t row_stride, int head_dim, int g) {
  auto* out = static_cast<uint16_t*>(base);
  for (int d = 0; d < head_dim; ++d) {
    out[kv_bf16_index(layout, is_key, slot, block_size, row_stride, head_dim, g, d)] =
        f32_to_bf16_ftz(x[d]);
  }
}

namespace {

// One pair product step of vdpbf16ps: the odd partners' exact product added, then the even
// ones' (each sum rounded to f32).
float pair_step(float acc, float a_even, float a_odd, float b_even, float b_odd) {
  acc = std::fma(a_odd, b_odd, acc);
  return std::fma(a_even, b_even, acc);
}

}  // namespace

void attention_bf16(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
                    float* out) {
  const int group = shape.n_heads / shape.n_kv_heads;  // query heads per kv head
  const int hd = shape.head_dim;
  const auto* kb = static_cast<const uint16_t*>(kv.k);
  const auto* vb = static_cast<const uint16_t*>(kv.v);
  const std::vector<int64_t> slots = context_slots(kv, n_ctx);
  auto value = [&](const uint16_t* base, bool is_key, int64_t p, int g, int d) {
    return bf16_to_f32(
        base[kv_bf16_index(kv.layout, is_key, slots[p], kv.block_size, kv.row_stride, hd, g, d)]);
  };
  std::vector<float> qb(static_cast<size_t>(hd));
  std::vector<float> probs(static_cast<size_t>(n_ctx + 1));
  for (int h = 0; h < shape.n_heads; ++h) {
    const int g = h / group;
    for (int d = 0; d < hd; ++d) qb[d] = bf16_to_f32(f32_to_bf16_ftz(q[int64_t{h} * hd + d]));
    for (int64_t p = 0; p < n_ctx; ++p) {
      float acc = 0;
      for (int d = 0; d < hd; d += 2) {
        acc = pair_step(acc, qb[d], qb[d + 1], value(kb, true, p, g, d),
                        value(kb, true, p, g, d + 1));
      }
      probs[p] = acc * shape.scale;
    }
    softmax(probs.data(), n_ctx);
    for (int64_t p = 0; p < n_ctx; ++p) probs[p] = bf16_to_f32(f32_to_bf16_ftz(probs[p]));
    probs[n_ctx] = 0;  // the partner of an odd context's last position
    float* oh = out + static_cast<int64_t>(h) * hd;
    for (int d = 0; d < hd; ++d) {
      float acc = 0;
      for (int64_t p = 0; p < n_ctx; p += 2) {
        const float odd = p + 1 < n_ctx ? value(vb, false, p + 1, g, d) : 0.0f;
        acc = pair_step(acc, probs[p], probs[p + 1], value(vb, false, p, g, d), odd);
      }
      oh[d] = acc;
    }
  }
}

}  // namespace tenbin::kernels::ref
