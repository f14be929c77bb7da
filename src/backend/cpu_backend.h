// The Backend on the host: buffers are host memory and every op runs the dispatched kernels of
// kernels/ops.h (AVX-512, AVX2 or scalar), split over the ThreadPool given to begin_forward.
// Weights are read in place from the GGUF mapping, or repacked once for the active kernels
// (kernels::pack_for_matmul). Attention runs one unit of work per (piece of a prefill span, KV
// head), longest first; the row-wise ops (norms, RoPE, SwiGLU, KV stores, adds) split their
// rows over the pool when a batch is large enough.
#pragma once

#include <functional>
#include <vector>

#include "backend/backend.h"

namespace tenbin::backend {

// KV cache types the CPU backend's store_kv and attention take (F16, F32, Q8_0); a KvCache made
// without a backend lives in host memory for it.
inline bool cpu_kv_type_supported(DType type) {
  return type == DType::kF16 || type == DType::kF32 || type == DType::kBF16 || type == DType::kQ8_0;
}

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override;
  bool host_memory() const override { return true; }

  Expected<Buffer> allocate(size_t bytes) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;

  Expected<ResidentMatrix> make_resident(const kernels::MatrixView& host) override;
  std::optional<ResidentMatrix> make_resident_stacked(
      const std::vector<kernels::MatrixView>& parts,
      std::vector<kernels::MatrixView>* part_views) override;

  bool set_op_profile(OpProfile* profile) override {
    profile_ = profile;
    return true;
  }
  Status begin_forward(const BatchDesc& batch, ThreadPool& pool) override;
  void embed(const kernels::MatrixView& table, float* x) override;
  void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n,
                float eps) override;
  void matmul(const kernels::MatrixView& w, const float* x, int64_t n_rows, float* y) override;
  void add_bias(float* rows, const float* bias, int64_t n_rows, int64_t n) override;
  void copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                    int64_t n_rows, int64_t n_cols) override;
  void rope(float* x, int n_heads, int head_dim, const kernels::RopeParams& params) override;
  // Head-major blocks with K transposed (kernels/kv_layout.h), what the SIMD attention reads.
  kernels::KvLayout kv_layout() const override { return kernels::KvLayout::kHeadBlocks; }
  bool kv_type_supported(DType type) const override { return cpu_kv_type_supported(type); }
  void store_kv(const KvLayer& layer, const float* k, const float* v) override;
  void attention(const float* q, const KvLayer& layer, const kernels::AttentionShape& shape,
                 float* out) override;
  void silu_mul(const float* gate, const float* up, int64_t in_stride, float* out, int64_t n_rows,
                int64_t n) override;
  void add(const float* a, const float* b, float* out, int64_t n) override;
  void gather_output_rows(const float* src, int64_t n, float* dst) override;
  // kernels/token_select.h and token_draw.h themselves, rows split over the pool.
  void select_top_k(float* logits, int64_t n_vocab, int64_t max_k,
                    kernels::TokenCandidate* best) override;
  void raw_logprobs(const float* logits, int64_t n_vocab, kernels::RowLogprobs* rows,
                    float* edit_raw) override;

 private:
  // fn(begin, end) over [0, n_rows), split over the pool when the op is large enough to pay
  // for the hand-off (a prefill chunk, many decoding sequences), inline otherwise.
  void for_rows(int64_t n_rows, int64_t row_elems, const std::function<void(int64_t, int64_t)>& fn);

  ThreadPool* pool_ = nullptr;
  OpProfile* profile_ = nullptr;
  int64_t n_tokens_ = 0;
  int64_t table_width_ = 0;
  std::vector<int32_t> tokens_, positions_, seq_ids_, slots_, block_tables_, output_rows_;
  std::vector<int32_t> output_top_k_, output_edit_begin_;  // empty: no row selects
  std::vector<int32_t> output_logprobs_;                   // empty: no row reports logprobs
  std::vector<kernels::LogitEdit> logit_edits_;
  std::vector<kernels::DrawParams> output_draw_;
};

}  // namespace tenbin::backend
