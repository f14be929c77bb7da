// The forward pass of the LLaMA-family decoder over a flat batch of tokens. Reads top to
// bottom: embed -> per layer (RMSNorm, QKV, RoPE, cache write, attention, output, residual,
// RMSNorm, SwiGLU feed-forward, residual) -> final norm -> logits of the requested tokens.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/arch/llama_model.h"
#include "tensor/dtype.h"

namespace tenbin {
namespace {

void grow(std::vector<float>& buffer, size_t n) {
  if (buffer.size() < n) buffer.resize(n);
}

void add_bias(float* rows, const std::vector<float>& bias, int64_t n_rows) {
  const int64_t n = static_cast<int64_t>(bias.size());
  for (int64_t r = 0; r < n_rows; ++r) kernels::add(rows + r * n, bias.data(), rows + r * n, n);
}

}  // namespace

Status LlamaModel::validate(const Batch& batch, const KvCache& cache) const {
  const size_t n = batch.size();
  if (n == 0) return Status::Error("empty batch");
  if (batch.positions.size() != n || batch.seq_ids.size() != n || batch.want_logits.size() != n) {
    return Status::Error("batch arrays differ in length");
  }
  if (cache.options().n_layer != config_.n_layer || cache.options().kv_dim != config_.kv_dim()) {
    return Status::Error("KV cache shape does not match the model");
  }
  const int64_t bs = cache.block_size();
  for (size_t s = 0; s < batch.block_tables.size(); ++s) {
    const std::vector<int32_t>& table = batch.block_tables[s];
    for (size_t j = 0; j < table.size(); ++j) {
      if (table[j] < 0 || table[j] >= cache.n_blocks()) {
        return Status::Errorf(
            "block table of sequence {} has block id {} at index {}, outside the KV cache's "
            "{} blocks",
            s, table[j], j, cache.n_blocks());
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (batch.tokens[i] < 0 || batch.tokens[i] >= config_.n_vocab) {
      return Status::Errorf("token id {} is outside the vocabulary (0..{})", batch.tokens[i],
                            config_.n_vocab - 1);
    }
    const int32_t seq = batch.seq_ids[i];
    if (seq < 0 || static_cast<size_t>(seq) >= batch.block_tables.size()) {
      return Status::Errorf("token {} has sequence id {} but the batch has {} block tables", i, seq,
                            batch.block_tables.size());
    }
    const int32_t pos = batch.positions[i];
    const size_t n_blocks = batch.block_tables[seq].size();
    if (pos < 0 || static_cast<size_t>(pos / bs) >= n_blocks) {
      return Status::Errorf(
          "token {} at position {} of sequence {} is outside its block table ({} blocks of {} "
          "tokens cover positions 0..{})",
          i, pos, seq, n_blocks, bs, static_cast<int64_t>(n_blocks) * bs - 1);
    }
  }
  return Status::Ok();
}

Expected<std::vector<float>> LlamaModel::forward(const Batch& batch, KvCache& cache,
                                                 ThreadPool& pool) {
  TENBIN_RETURN_IF_ERROR(validate(batch, cache));
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(batch.size());
  grow(x_, n * c.n_embd);
  grow(xn_, n * std::max(c.n_embd, c.q_dim()));
  grow(q_, n * c.q_dim());
  grow(k_, n * c.kv_dim());
  grow(v_, n * c.kv_dim());
  grow(att_, n * c.q_dim());
  grow(gate_, n * c.n_ff);
  grow(up_, n * c.n_ff);

  // Embedding lookup: one stored row per token.
  const int64_t embd_row_bytes = *row_bytes(token_embd_.type, c.n_embd);
  for (int64_t t = 0; t < n; ++t) {
    const uint8_t* row = static_cast<const uint8_t*>(token_embd_.data) +
                         static_cast<int64_t>(batch.tokens[t]) * embd_row_bytes;
    kernels::dequantize_row(token_embd_.type, row, x_.data() + t * c.n_embd, c.n_embd);
  }

  for (int64_t layer = 0; layer < c.n_layer; ++layer) {
    attention_block(batch, layer, cache, pool);
    feed_forward_block(n, layer, pool);
  }

  // Final norm and logits, only for the tokens that asked for them.
  std::vector<int64_t> rows;
  for (int64_t t = 0; t < n; ++t) {
    if (batch.want_logits[t]) rows.push_back(t);
  }
  const int64_t n_out = static_cast<int64_t>(rows.size());
  for (int64_t i = 0; i < n_out; ++i) {
    kernels::rms_norm(x_.data() + rows[i] * c.n_embd, output_norm_.data(),
                      xn_.data() + i * c.n_embd, c.n_embd, c.rms_eps);
  }
  std::vector<float> logits(n_out * c.n_vocab);
  if (n_out > 0) kernels::matmul(output_, xn_.data(), n_out, logits.data(), pool);
  return logits;
}

void LlamaModel::attention_block(const Batch& batch, int64_t layer, KvCache& cache,
                                 ThreadPool& pool) {
  const ModelConfig& c = config_;
  const LlamaLayerWeights& w = layers_[layer];
  const int64_t n = static_cast<int64_t>(batch.size());

  for (int64_t t = 0; t < n; ++t) {
    kernels::rms_norm(x_.data() + t * c.n_embd, w.attn_norm.data(), xn_.data() + t * c.n_embd,
                      c.n_embd, c.rms_eps);
  }
  if (w.wqkv.data != nullptr) {
    // One matmul for the stacked Q|K|V rows, then each token's row is split.
    const int64_t width = c.q_dim() + 2 * c.kv_dim();
    grow(fused_, n * width);
    kernels::matmul(w.wqkv, xn_.data(), n, fused_.data(), pool);
    for (int64_t t = 0; t < n; ++t) {
      const float* row = fused_.data() + t * width;
      std::copy(row, row + c.q_dim(), q_.data() + t * c.q_dim());
      std::copy(row + c.q_dim(), row + c.q_dim() + c.kv_dim(), k_.data() + t * c.kv_dim());
      std::copy(row + c.q_dim() + c.kv_dim(), row + width, v_.data() + t * c.kv_dim());
    }
  } else {
    kernels::matmul(w.wq, xn_.data(), n, q_.data(), pool);
    kernels::matmul(w.wk, xn_.data(), n, k_.data(), pool);
    kernels::matmul(w.wv, xn_.data(), n, v_.data(), pool);
  }
  if (c.qkv_bias) {
    add_bias(q_.data(), w.bq, n);
    add_bias(k_.data(), w.bk, n);
    add_bias(v_.data(), w.bv, n);
  }

  // RoPE, then every token's K/V goes into its slot (through its sequence's block table) before
  // any token attends, so a token sees the earlier tokens of its own batch (causal within a
  // prefill chunk).
  const int64_t bs = cache.block_size();
  for (int64_t t = 0; t < n; ++t) {
    kernels::rope(q_.data() + t * c.q_dim(), static_cast<int>(c.n_head),
                  static_cast<int>(c.head_dim), batch.positions[t], c.rope);
    kernels::rope(k_.data() + t * c.kv_dim(), static_cast<int>(c.n_head_kv),
                  static_cast<int>(c.head_dim), batch.positions[t], c.rope);
    const int32_t pos = batch.positions[t];
    const int64_t slot = batch.block_tables[batch.seq_ids[t]][pos / bs] * bs + pos % bs;
    cache.store_key(layer, slot, k_.data() + t * c.kv_dim());
    cache.store_value(layer, slot, v_.data() + t * c.kv_dim());
  }

  kernels::AttentionShape shape;
  shape.n_heads = static_cast<int>(c.n_head);
  shape.n_kv_heads = static_cast<int>(c.n_head_kv);
  shape.head_dim = static_cast<int>(c.head_dim);
  shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  // One unit of work per (token, KV head): the query heads sharing a KV head attend together,
  // and a single decoding sequence still spreads over every thread. Each head's result is the
  // same however the units are split.
  const int64_t n_kv = c.n_head_kv, group = c.n_head / c.n_head_kv;
  const int64_t kv_elem_bytes = cache.type() == DType::kF16 ? 2 : 4;
  kernels::AttentionShape one_group = shape;
  one_group.n_heads = static_cast<int>(group);
  one_group.n_kv_heads = 1;
  pool.parallel_for(n * n_kv, [&](int64_t begin, int64_t end, int) {
    for (int64_t u = begin; u < end; ++u) {
      const int64_t t = u / n_kv, kvh = u % n_kv;
      kernels::KvView kv = cache.view(layer, batch.block_tables[batch.seq_ids[t]].data());
      kv.k = static_cast<const uint8_t*>(kv.k) + kvh * c.head_dim * kv_elem_bytes;
      kv.v = static_cast<const uint8_t*>(kv.v) + kvh * c.head_dim * kv_elem_bytes;
      const int64_t head_offset = t * c.q_dim() + kvh * group * c.head_dim;
      kernels::attention(q_.data() + head_offset, kv, batch.positions[t] + 1, one_group,
                         att_.data() + head_offset);
    }
  });

  kernels::matmul(w.wo, att_.data(), n, xn_.data(), pool);
  kernels::add(x_.data(), xn_.data(), x_.data(), n * c.n_embd);
}

void LlamaModel::feed_forward_block(int64_t n, int64_t layer, ThreadPool& pool) {
  const ModelConfig& c = config_;
  const LlamaLayerWeights& w = layers_[layer];
  for (int64_t t = 0; t < n; ++t) {
    kernels::rms_norm(x_.data() + t * c.n_embd, w.ffn_norm.data(), xn_.data() + t * c.n_embd,
                      c.n_embd, c.rms_eps);
  }
  if (w.w_gate_up.data != nullptr) {
    // One matmul for the stacked gate|up rows; SiLU(gate) * up per token.
    grow(fused_, n * 2 * c.n_ff);
    kernels::matmul(w.w_gate_up, xn_.data(), n, fused_.data(), pool);
    for (int64_t t = 0; t < n; ++t) {
      const float* row = fused_.data() + t * 2 * c.n_ff;
      kernels::silu_mul(row, row + c.n_ff, gate_.data() + t * c.n_ff, c.n_ff);
    }
  } else {
    kernels::matmul(w.w_gate, xn_.data(), n, gate_.data(), pool);
    kernels::matmul(w.w_up, xn_.data(), n, up_.data(), pool);
    kernels::silu_mul(gate_.data(), up_.data(), gate_.data(), n * c.n_ff);
  }
  kernels::matmul(w.w_down, gate_.data(), n, xn_.data(), pool);
  kernels::add(x_.data(), xn_.data(), x_.data(), n * c.n_embd);
}

}  // namespace tenbin
