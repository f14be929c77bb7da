// The LLaMA-family decoder (LLaMA 1/2/3, Mistral, TinyLlama, Qwen2): weights used in place from
// the GGUF mapping (or repacked once for the active kernels, kernels::pack_for_matmul), and one
// forward pass over a flat batch of tokens (prefill chunks and decode steps of several sequences
// alike). Linear layers run as matmuls over every token of the batch; attention reads the paged KV
// cache through each sequence's block table. The pass is written once against backend::Backend:
// the model owns its backend (the CPU unless another is given at load), and its weights, scratch
// activations and KV caches live in that backend's memory. Thread-safety: forward() uses
// internal scratch buffers, so one forward at a time per model.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "kernels/ops.h"
#include "model/batch.h"
#include "model/forward_output.h"
#include "model/kv_cache.h"
#include "model/model_config.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace tenbin {

class GgufFile;

// Matrices are views the backend's matmul reads; vectors are f32 arrays in backend memory.
struct LlamaLayerWeights {
  const float* attn_norm = nullptr;  // (n_embd)
  kernels::MatrixView wq;            // (q_dim rows, n_embd cols)
  kernels::MatrixView wk;            // (kv_dim, n_embd)
  kernels::MatrixView wv;            // (kv_dim, n_embd)
  kernels::MatrixView wo;            // (n_embd, q_dim)
  const float* bq = nullptr;         // (q_dim); qwen2 only, like bk and bv
  const float* bk = nullptr;         // (kv_dim)
  const float* bv = nullptr;         // (kv_dim)
  const float* ffn_norm = nullptr;   // (n_embd)
  kernels::MatrixView w_gate;        // (n_ff, n_embd)
  kernels::MatrixView w_up;          // (n_ff, n_embd)
  kernels::MatrixView w_down;        // (n_embd, n_ff)
  // When the backend stacks them, wq|wk|wv and w_gate|w_up as one matrix each (the views
  // above then point inside); data == nullptr otherwise.
  kernels::MatrixView wqkv;       // (q_dim + 2 kv_dim, n_embd)
  kernels::MatrixView w_gate_up;  // (2 n_ff, n_embd)
};

class LlamaModel {
 public:
  // `file` must outlive the model: weights point into its mapping (or are copied from it to
  // the backend's memory). `backend` defaults to a CpuBackend.
  static Expected<std::unique_ptr<LlamaModel>> load(
      const GgufFile& file, std::unique_ptr<backend::Backend> backend = nullptr);

  const ModelConfig& config() const { return config_; }
  backend::Backend& backend() const { return *backend_; }

  // A paged KV cache shaped for this model: n_blocks blocks of block_size tokens.
  Expected<KvCache> make_kv_cache(int64_t n_blocks, DType type = DType::kF16,
                                  int64_t block_size = 16) const;
  // As many blocks as fit in `budget_bytes` (--kv-cache-gib * 2^30); an error when not even
  // one block does.
  Expected<KvCache> make_kv_cache_for_bytes(double budget_bytes, int64_t block_size = 16,
                                            DType type = DType::kF16) const;

  // Runs the batch, writing K/V of every token into its slot of `cache` (through its
  // sequence's block table), and returns the logits of the tokens with want_logits, in batch
  // order: [n_outputs, n_vocab]. `cache` must come from make_kv_cache* of this model (it lives
  // in the backend's memory); `pool` is the host thread pool the CPU backend splits work over.
  Expected<std::vector<float>> forward(const Batch& batch, KvCache& cache, ThreadPool& pool);
  // The same pass, returning each output row as `select` says (one entry per output row; empty:
  // every row whole).
  Expected<ForwardOutput> forward(const Batch& batch, KvCache& cache, ThreadPool& pool,
                                  std::span<const OutputSelect> select);
  // Output row i of the last forward, as it is now (a selecting row after its edits): for a
  // draw that needs the sorted row (kernels::kDrawNeedsSortedRow). Valid until the next forward.
  Status fetch_row(int64_t i, std::span<float> row);

  // Total bytes of weight tensors read per token (every matrix once): for speed reports.
  int64_t weight_bytes() const { return weight_bytes_; }
  // The type of most layer weights (ffn_up of layer 0 is representative): for reports.
  DType layers_weight_type() const { return layers_.empty() ? DType::kF32 : layers_[0].w_up.type; }

 private:
  LlamaModel() = default;
  Status make_weights_resident();
  Expected<const float*> resident_vector(const std::vector<float>& host);
  Status validate(const Batch& batch, const KvCache& cache) const;
  Status begin_forward(const Batch& batch, const KvCache& cache, ThreadPool& pool);
  // Stages `select` for begin_forward and sizes selection_; returns the largest top_k.
  Expected<int64_t> stage_select(std::span<const OutputSelect> select, int64_t n_outputs);
  Status grow_scratch(int64_t n_tokens);
  // Returns the rows carried on: n_tokens, or with only_outputs (the last layer) just the
  // tokens that want logits, gathered to the first rows of the residual stream.
  int64_t attention_block(int64_t n_tokens, int64_t layer, KvCache& cache, bool only_outputs);
  void feed_forward_block(int64_t n_tokens, int64_t layer);

  ModelConfig config_;
  std::unique_ptr<backend::Backend> backend_;
  kernels::MatrixView token_embd_;      // (n_vocab, n_embd), rows as stored
  kernels::MatrixView output_;          // (n_vocab, n_embd), token_embd when tied
  const float* output_norm_ = nullptr;  // (n_embd)
  std::vector<LlamaLayerWeights> layers_;
  int64_t weight_bytes_ = 0;
  std::vector<backend::Buffer> weight_buffers_;  // owns uploaded or repacked weights

  // Scratch for one forward, in backend memory, grown to the largest batch seen.
  int64_t scratch_tokens_ = 0;
  backend::Buffer x_, xn_, q_, k_, v_, att_, gate_, up_, fused_, logits_;
  // select_top_k's candidates, then raw_logprobs' rows and edit logits (selection_layout_).
  backend::Buffer selection_;
  struct SelectionLayout {
    size_t logprobs_offset = 0;  // bytes: the candidates come first
    size_t edit_raw_offset = 0;
    size_t bytes = 0;  // with logprobs; logprobs_offset without
  } selection_layout_;
  // Host staging of the batch description (KV slots, flattened block tables, output rows, and
  // each output row's selection).
  std::vector<int32_t> slots_, tables_, output_rows_;
  std::vector<int32_t> select_top_k_, select_edit_begin_;
  std::vector<kernels::LogitEdit> select_edits_;
  std::vector<kernels::DrawParams> select_draw_;
  std::vector<int32_t> select_logprobs_;  // empty: no row reports logprobs
  std::vector<uint8_t> downloaded_;       // selection_ on the host
};

}  // namespace tenbin
