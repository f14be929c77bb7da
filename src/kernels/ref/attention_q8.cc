// Scalar reference of attention over a Q8_0 KV cache, and of how a row is stored into one: the
// recipe every SIMD variant follows operation for operation (kernels/ops.h).
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/ref/ref_ops.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {

void store_kv_q8_0(const float* x, KvLayout layout, bool is_key, void* base, int64_t slot,
                   int block_size, int64_t row_stride, int head_dim, int g) {
  auto* out = static_cast<uint8_t*>(base);
  std::vector<BlockQ8_0> blocks(static_cast<size_t>(head_dim / kKvQ8Group));
  quantize_q8_0(x, blocks.data(), head_dim);
  for (int group = 0; group < head_dim / kKvQ8Group; ++group) {
    std::memcpy(out + kv_q8_scale_byte(layout, slot, block_size, row_stride, head_dim, g, group),
                &blocks[group].d, 2);
    for (int i = 0; i < kKvQ8Group; ++i) {
      const int d = group * kKvQ8Group + i;
      out[kv_q8_quant_byte(layout, is_key, slot, block_size, row_stride, head_dim, g, d)] =
          static_cast<uint8_t>(blocks[group].qs[i]);
    }
  }
}

void attention_q8_0(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
                    float* out) {
  const int group = shape.n_heads / shape.n_kv_heads;  // query heads per kv head
  const int hd = shape.head_dim, n_groups = hd / kKvQ8Group;
  const auto* kb = static_cast<const uint8_t*>(kv.k);
  const auto* vb = static_cast<const uint8_t*>(kv.v);
  const std::vector<int64_t> slots = context_slots(kv, n_ctx);
  auto quant = [&](const uint8_t* base, bool is_key, int64_t p, int g, int d) {
    const auto byte =
        kv_q8_quant_byte(kv.layout, is_key, slots[p], kv.block_size, kv.row_stride, hd, g, d);
    return static_cast<int>(static_cast<int8_t>(base[byte]));
  };
  auto scale = [&](const uint8_t* base, int64_t p, int g, int grp) {
    uint16_t h;
    std::memcpy(
        &h, base + kv_q8_scale_byte(kv.layout, slots[p], kv.block_size, kv.row_stride, hd, g, grp),
        2);
    return fp16_to_f32(h);
  };
  std::vector<BlockQ8_0> qq(static_cast<size_t>(n_groups));
  std::vector<float> scores(static_cast<size_t>(n_ctx));
  for (int h = 0; h < shape.n_heads; ++h) {
    const int g = h / group;
    quantize_act_q8_0(q + static_cast<int64_t>(h) * hd, qq.data(), hd);
    for (int64_t p = 0; p < n_ctx; ++p) {
      float score = 0;
      for (int grp = 0; grp < n_groups; ++grp) {
        int isum = 0;
        for (int i = 0; i < kKvQ8Group; ++i) {
          isum += quant(kb, true, p, g, grp * kKvQ8Group + i) * qq[grp].qs[i];
        }
        const float dd = scale(kb, p, g, grp) * fp16_to_f32(qq[grp].d);
        score = std::fma(static_cast<float>(isum), dd, score);
      }
      scores[p] = score * shape.scale;
    }
    softmax(scores.data(), n_ctx);
    float* oh = out + static_cast<int64_t>(h) * hd;
    std::fill(oh, oh + hd, 0.0f);
    for (int64_t p = 0; p < n_ctx; ++p) {
      for (int grp = 0; grp < n_groups; ++grp) {
        const float c = scores[p] * scale(vb, p, g, grp);
        for (int i = 0; i < kKvQ8Group; ++i) {
          const int d = grp * kKvQ8Group + i;
          oh[d] = std::fma(c, static_cast<float>(quant(vb, false, p, g, d)), oh[d]);
        }
      }
    }
  }
}

}  // namespace tenbin::kernels::ref
