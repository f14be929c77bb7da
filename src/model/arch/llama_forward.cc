// The forward pass of the LLaMA-family decoder over a flat batch of tokens, written against
// backend::Backend. Reads top to bottom: embed -> per layer (RMSNorm, QKV, RoPE, cache write,
// attention, output, residual, RMSNorm, SwiGLU feed-forward, residual) -> final norm -> logits
// of the requested tokens.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/arch/llama_model.h"

namespace tenbin {

Status LlamaModel::validate(const Batch& batch, const KvCache& cache) const {
  const size_t n = batch.size();
  if (n == 0) return Status::Error("empty batch");
  if (batch.positions.size() != n || batch.seq_ids.size() != n || batch.want_logits.size() != n) {
    return Status::Error("batch arrays differ in length");
  }
  if (cache.options().n_layer != config_.n_layer || cache.options().kv_dim != config_.kv_dim() ||
      cache.layer(0).head_dim != config_.head_dim) {
    return Status::Error("KV cache shape does not match the model");
  }
  if (cache.host_memory() != backend_->host_memory()) {
    return Status::Errorf("the KV cache is not in {}'s memory: make it with make_kv_cache",
                          backend_->name());
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

// Flattens the batch for the backend: each token's KV slot, the block tables as one
// [n_seqs, width] array, and the rows whose logits are wanted.
Status LlamaModel::begin_forward(const Batch& batch, const KvCache& cache, ThreadPool& pool) {
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t bs = cache.block_size();
  size_t width = 0;
  for (const std::vector<int32_t>& table : batch.block_tables)
    width = std::max(width, table.size());
  tables_.assign(batch.block_tables.size() * width, 0);
  for (size_t s = 0; s < batch.block_tables.size(); ++s) {
    std::copy(batch.block_tables[s].begin(), batch.block_tables[s].end(),
              tables_.begin() + static_cast<ptrdiff_t>(s * width));
  }
  slots_.resize(n);
  output_rows_.clear();
  for (int64_t t = 0; t < n; ++t) {
    const int32_t pos = batch.positions[t];
    slots_[t] =
        static_cast<int32_t>(batch.block_tables[batch.seq_ids[t]][pos / bs] * bs + pos % bs);
    if (batch.want_logits[t]) output_rows_.push_back(static_cast<int32_t>(t));
  }
  backend::BatchDesc desc;
  desc.n_tokens = n;
  desc.tokens = batch.tokens.data();
  desc.positions = batch.positions.data();
  desc.seq_ids = batch.seq_ids.data();
  desc.slots = slots_.data();
  desc.n_seqs = static_cast<int64_t>(batch.block_tables.size());
  desc.table_width = static_cast<int64_t>(width);
  desc.block_tables = tables_.data();
  desc.n_outputs = static_cast<int64_t>(output_rows_.size());
  desc.output_rows = output_rows_.data();
  if (!select_top_k_.empty()) {
    desc.output_top_k = select_top_k_.data();
    desc.output_edit_begin = select_edit_begin_.data();
    desc.logit_edits = select_edits_.data();
    desc.output_draw = select_draw_.data();
    if (!select_logprobs_.empty()) desc.output_logprobs = select_logprobs_.data();
  }
  return backend_->begin_forward(desc, pool);
}

// Grows every scratch activation to hold n_tokens rows.
Status LlamaModel::grow_scratch(int64_t n) {
  if (n <= scratch_tokens_) return Status::Ok();
  const ModelConfig& c = config_;
  const int64_t fused_width = std::max(c.q_dim() + 2 * c.kv_dim(), 2 * c.n_ff);
  const std::pair<backend::Buffer*, int64_t> sizes[] = {
      {&x_, c.n_embd},        {&xn_, std::max(c.n_embd, c.q_dim())},
      {&q_, c.q_dim()},       {&k_, c.kv_dim()},
      {&v_, c.kv_dim()},      {&att_, c.q_dim()},
      {&gate_, c.n_ff},       {&up_, c.n_ff},
      {&fused_, fused_width}, {&logits_, c.n_vocab}};
  for (const auto& [buffer, width] : sizes) {
    buffer->reset();
    Expected<backend::Buffer> b =
        backend_->allocate(static_cast<size_t>(n * width) * sizeof(float));
    if (!b.ok()) {
      return Status::Errorf("activations of a {}-token batch: {}", n, b.status().message());
    }
    *buffer = std::move(*b);
  }
  scratch_tokens_ = n;
  return Status::Ok();
}

Expected<int64_t> LlamaModel::stage_select(std::span<const OutputSelect> select,
                                           int64_t n_outputs) {
  select_top_k_.clear();
  select_edit_begin_.clear();
  select_edits_.clear();
  select_draw_.clear();
  select_logprobs_.clear();
  if (select.empty()) return 0;
  if (static_cast<int64_t>(select.size()) != n_outputs) {
    return Status::Errorf("{} output selections for {} output rows", select.size(), n_outputs);
  }
  int64_t max_k = 0;
  bool any_logprobs = false;
  select_edit_begin_.push_back(0);
  for (const OutputSelect& s : select) {
    if (s.top_k != kernels::kDrawFromRow && (s.top_k < 0 || s.top_k > kernels::kMaxSelectK)) {
      return Status::Errorf("top_k {} to select is outside 0..{}", s.top_k, kernels::kMaxSelectK);
    }
    if (s.top_k == kernels::kDrawFromRow &&
        (!(s.draw.temperature > 0) || !(s.draw.u >= 0 && s.draw.u < 1))) {
      return Status::Errorf("a draw needs a positive temperature ({}) and u in [0, 1) ({})",
                            s.draw.temperature, s.draw.u);
    }
    if (s.logprobs < -1 || s.logprobs > kernels::kMaxLogprobs) {
      return Status::Errorf("{} logprobs asked for; at most {}", s.logprobs, kernels::kMaxLogprobs);
    }
    select_top_k_.push_back(s.top_k);
    if (s.top_k != 0 || s.logprobs >= 0) {
      select_edits_.insert(select_edits_.end(), s.edits.begin(), s.edits.end());
    }
    select_edit_begin_.push_back(static_cast<int32_t>(select_edits_.size()));
    select_draw_.push_back(s.draw);
    select_logprobs_.push_back(s.logprobs);
    max_k = std::max<int64_t>(max_k, s.best_entries());
    any_logprobs = any_logprobs || s.logprobs >= 0;
  }
  if (max_k == 0 && !any_logprobs) {
    select_top_k_.clear();  // every row whole: nothing to stage
    select_edit_begin_.clear();
    select_edits_.clear();
    select_draw_.clear();
  }
  if (!any_logprobs) select_logprobs_.clear();
  if (select_top_k_.empty()) return 0;
  // One buffer, so that one download brings the step's selections back.
  SelectionLayout& layout = selection_layout_;
  layout.logprobs_offset = static_cast<size_t>(n_outputs * max_k) * sizeof(kernels::TokenCandidate);
  layout.edit_raw_offset =
      layout.logprobs_offset + static_cast<size_t>(n_outputs) * sizeof(kernels::RowLogprobs);
  layout.bytes = any_logprobs ? layout.edit_raw_offset + select_edits_.size() * sizeof(float)
                              : layout.logprobs_offset;
  if (selection_.bytes() < layout.bytes) {
    selection_.reset();
    Expected<backend::Buffer> b = backend_->allocate(layout.bytes);
    if (!b.ok()) return Status::Errorf("sampling candidates: {}", b.status().message());
    selection_ = std::move(*b);
  }
  return max_k;
}

Expected<std::vector<float>> LlamaModel::forward(const Batch& batch, KvCache& cache,
                                                 ThreadPool& pool) {
  Expected<ForwardOutput> out = forward(batch, cache, pool, {});
  if (!out.ok()) return out.status();
  return std::move(out->logits);
}

Expected<ForwardOutput> LlamaModel::forward(const Batch& batch, KvCache& cache, ThreadPool& pool,
                                            std::span<const OutputSelect> select) {
  TENBIN_RETURN_IF_ERROR(validate(batch, cache));
  TENBIN_RETURN_IF_ERROR(grow_scratch(static_cast<int64_t>(batch.size())));
  const Expected<int64_t> max_k = stage_select(select, static_cast<int64_t>(batch.n_outputs()));
  if (!max_k.ok()) return max_k.status();
  TENBIN_RETURN_IF_ERROR(begin_forward(batch, cache, pool));
  const ModelConfig& c = config_;
  backend::Backend& be = *backend_;
  const int64_t n = static_cast<int64_t>(batch.size());

  be.embed(token_embd_, x_.as<float>());
  for (int64_t layer = 0; layer < c.n_layer; ++layer) {
    const int64_t rows = attention_block(n, layer, cache, layer + 1 == c.n_layer);
    if (rows > 0) feed_forward_block(rows, layer);
  }

  // Final norm and logits of the tokens that asked for them (the first rows of x by now).
  const int64_t n_out = static_cast<int64_t>(output_rows_.size());
  ForwardOutput out;
  out.n_vocab = c.n_vocab;
  out.max_k = *max_k;
  out.row_index.resize(n_out);
  int32_t n_whole = 0;
  for (int64_t i = 0; i < n_out; ++i) {
    out.row_index[i] = select_top_k_.empty() || select_top_k_[i] == 0 ? n_whole++ : -1;
  }
  if (n_out == 0) return out;
  be.rms_norm(x_.as<float>(), output_norm_, xn_.as<float>(), n_out, c.n_embd, c.rms_eps);
  be.matmul(output_, xn_.as<float>(), n_out, logits_.as<float>());
  out.logits.resize(static_cast<size_t>(n_whole) * c.n_vocab);
  if (select_top_k_.empty()) {
    be.download(out.logits.data(), logits_.data(), out.logits.size() * sizeof(float));
    return out;
  }
  const SelectionLayout& layout = selection_layout_;
  auto* selection = static_cast<uint8_t*>(selection_.data());
  const bool logprobs = !select_logprobs_.empty();
  if (logprobs) {  // from the raw rows: before select_top_k edits them
    be.raw_logprobs(logits_.as<float>(), c.n_vocab,
                    reinterpret_cast<kernels::RowLogprobs*>(selection + layout.logprobs_offset),
                    reinterpret_cast<float*>(selection + layout.edit_raw_offset));
  }
  be.select_top_k(logits_.as<float>(), c.n_vocab, out.max_k,
                  reinterpret_cast<kernels::TokenCandidate*>(selection));
  downloaded_.resize(layout.bytes);
  be.download(downloaded_.data(), selection, layout.bytes);
  // dst = n values from the download at byte `offset` (none: no copy, the vector may be null).
  const auto unpack = [&](auto& dst, size_t n, size_t offset) {
    dst.resize(n);
    if (n > 0) std::memcpy(dst.data(), downloaded_.data() + offset, n * sizeof(dst[0]));
  };
  unpack(out.best, static_cast<size_t>(n_out * out.max_k), 0);
  if (logprobs) {
    unpack(out.logprobs, static_cast<size_t>(n_out), layout.logprobs_offset);
    unpack(out.edit_raw, select_edits_.size(), layout.edit_raw_offset);
    out.edit_begin = select_edit_begin_;
  }
  for (int64_t i = 0; i < n_out; ++i) {
    if (out.row_index[i] < 0) continue;
    TENBIN_RETURN_IF_ERROR(fetch_row(i, out.row(i)));
  }
  return out;
}

Status LlamaModel::fetch_row(int64_t i, std::span<float> row) {
  if (i < 0 || i >= static_cast<int64_t>(output_rows_.size()) ||
      static_cast<int64_t>(row.size()) != config_.n_vocab) {
    return Status::Errorf("output row {} of {} (of {} logits) was not computed", i,
                          output_rows_.size(), row.size());
  }
  backend_->download(row.data(), logits_.as<float>() + i * config_.n_vocab, row.size_bytes());
  return Status::Ok();
}

int64_t LlamaModel::attention_block(int64_t n, int64_t layer, KvCache& cache, bool only_outputs) {
  const ModelConfig& c = config_;
  const LlamaLayerWeights& w = layers_[layer];
  backend::Backend& be = *backend_;
  float* x = x_.as<float>();
  float* xn = xn_.as<float>();
  float* q = q_.as<float>();
  float* k = k_.as<float>();
  float* v = v_.as<float>();

  be.rms_norm(x, w.attn_norm, xn, n, c.n_embd, c.rms_eps);
  if (w.wqkv.data != nullptr) {
    // One matmul for the stacked Q|K|V rows, then each token's row is split.
    const int64_t width = c.q_dim() + 2 * c.kv_dim();
    const float* fused = fused_.as<float>();
    be.matmul(w.wqkv, xn, n, fused_.as<float>());
    be.copy_columns(fused, width, q, c.q_dim(), n, c.q_dim());
    be.copy_columns(fused + c.q_dim(), width, k, c.kv_dim(), n, c.kv_dim());
    be.copy_columns(fused + c.q_dim() + c.kv_dim(), width, v, c.kv_dim(), n, c.kv_dim());
  } else {
    be.matmul(w.wq, xn, n, q);
    be.matmul(w.wk, xn, n, k);
    be.matmul(w.wv, xn, n, v);
  }
  if (c.qkv_bias) {
    be.add_bias(q, w.bq, n, c.q_dim());
    be.add_bias(k, w.bk, n, c.kv_dim());
    be.add_bias(v, w.bv, n, c.kv_dim());
  }

  // RoPE, then every token's K/V goes into its slot (through its sequence's block table) before
  // any token attends, so a token sees the earlier tokens of its own batch (causal within a
  // prefill chunk).
  be.rope(q, static_cast<int>(c.n_head), static_cast<int>(c.head_dim), c.rope);
  be.rope(k, static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim), c.rope);
  const backend::KvLayer kv = cache.layer(layer);
  be.store_kv(kv, k, v);

  kernels::AttentionShape shape;
  shape.n_heads = static_cast<int>(c.n_head);
  shape.n_kv_heads = static_cast<int>(c.n_head_kv);
  shape.head_dim = static_cast<int>(c.head_dim);
  shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  float* att = att_.as<float>();
  be.attention(q, kv, shape, att);

  int64_t rows = n;
  if (only_outputs) {
    // Every token's K/V is stored; past this point a token matters only through its logits,
    // so the rest of the last layer runs on the tokens that want them (a prefill chunk
    // without outputs skips it). Per-row kernels make this bit-identical.
    rows = static_cast<int64_t>(output_rows_.size());
    if (rows == 0) return 0;
    be.gather_output_rows(att, c.q_dim(), q);
    be.gather_output_rows(x, c.n_embd, xn);
    be.copy_columns(xn, c.n_embd, x, c.n_embd, rows, c.n_embd);
    att = q;
  }
  be.matmul(w.wo, att, rows, xn);
  be.add(x, xn, x, rows * c.n_embd);
  return rows;
}

void LlamaModel::feed_forward_block(int64_t n, int64_t layer) {
  const ModelConfig& c = config_;
  const LlamaLayerWeights& w = layers_[layer];
  backend::Backend& be = *backend_;
  float* x = x_.as<float>();
  float* xn = xn_.as<float>();
  float* gate = gate_.as<float>();

  be.rms_norm(x, w.ffn_norm, xn, n, c.n_embd, c.rms_eps);
  if (w.w_gate_up.data != nullptr) {
    // One matmul for the stacked gate|up rows; SiLU(gate) * up per token.
    float* fused = fused_.as<float>();
    be.matmul(w.w_gate_up, xn, n, fused);
    be.silu_mul(fused, fused + c.n_ff, 2 * c.n_ff, gate, n, c.n_ff);
  } else {
    be.matmul(w.w_gate, xn, n, gate);
    be.matmul(w.w_up, xn, n, up_.as<float>());
    be.silu_mul(gate, up_.as<float>(), c.n_ff, gate, n, c.n_ff);
  }
  be.matmul(w.w_down, gate, n, xn);
  be.add(x, xn, x, n * c.n_embd);
}

}  // namespace tenbin
