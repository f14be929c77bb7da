// CudaBackend: the ops other than matmul, each a thin check of its arguments around a kernel
// launch (launch.h) on the backend's stream, reading the batch arrays of begin_forward.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

// Attention partial states kept at once, in floats (64 MiB); longer batches run in chunks.
constexpr int64_t kAttentionScratchFloats = int64_t{16} << 20;

bool is_kv_type(DType type) {
  return type == DType::kF16 || type == DType::kF32 || type == DType::kBF16 || type == DType::kQ8_0;
}

void check_kv_type(DType type) {
  TENBIN_CUDA_REQUIRE(is_kv_type(type), "KV cache type must be f16, f32, bf16 or q8_0");
}

}  // namespace

bool CudaBackend::kv_type_supported(DType type) const {
  return is_kv_type(type);
}

int64_t CudaBackend::attention_scratch_want(int64_t n_tokens, int64_t max_ctx, int n_heads,
                                            int head_dim, DType kv_type) {
  const bool exact = kv_type == DType::kBF16 || kv_type == DType::kQ8_0;
  const int64_t one = exact ? n_heads * attention_exact_scratch_floats(max_ctx)
                            : attention_min_scratch(max_ctx, n_heads, head_dim);
  const int64_t all =
      exact ? n_tokens * one : attention_scratch_floats(n_tokens, max_ctx, n_heads, head_dim);
  return std::min(all, std::max(one, kAttentionScratchFloats));
}

void CudaBackend::embed(const kernels::MatrixView& table, float* x) {
  if (n_tokens_ == 0) return;
  bind();
  TENBIN_CUDA_REQUIRE(weight_type_supported(table.type),
                      "embed: table type not supported by the CUDA backend");
  TENBIN_CUDA_REQUIRE(table.layout == kernels::WeightLayout::kRows,
                      "embed: the table must be in the GGUF row layout");
  for (int64_t t = 0; t < n_tokens_; ++t) {
    if (host_tokens_[t] < 0 || host_tokens_[t] >= table.rows) {
      const std::string message =
          fmt::format("embed: token id {} (batch token {}) is outside the table's {} rows",
                      host_tokens_[t], t, table.rows);
      fatal_error(message.c_str(), __FILE__, __LINE__);
    }
  }
  launch_embed(table.type, table.data, table.cols, tokens_, n_tokens_, x, stream_);
}

void CudaBackend::rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n,
                           float eps) {
  bind();
  launch_rms_norm(x, weight, y, n_rows, n, eps, stream_);
}

void CudaBackend::add_bias(float* rows, const float* bias, int64_t n_rows, int64_t n) {
  bind();
  launch_add_bias(rows, bias, n_rows, n, stream_);
}

void CudaBackend::copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                               int64_t n_rows, int64_t n_cols) {
  bind();
  launch_copy_columns(src, src_stride, dst, dst_stride, n_rows, n_cols, stream_);
}

void CudaBackend::rope(float* x, int n_heads, int head_dim, const kernels::RopeParams& params) {
  if (n_tokens_ == 0) return;
  bind();
  RopeArgs args;
  args.neox = params.style == kernels::RopeStyle::kNeox;
  args.rot_dim = params.rot_dim;
  // Computed here exactly as the reference computes it (ref/ops.cc rope_angles).
  args.theta_scale =
      std::pow(params.freq_base, -2.0f / static_cast<float>(std::max(params.rot_dim, 1)));
  args.freq_scale = params.freq_scale;
  launch_rope(x, n_tokens_, n_heads, head_dim, positions_, args, stream_);
}

void CudaBackend::store_kv(const backend::KvLayer& layer, const float* k, const float* v) {
  if (n_tokens_ == 0) return;
  bind();
  check_kv_type(layer.type);
  launch_store_kv(k, v, n_tokens_, layer.row_stride, slots_, layer.k, layer.v, layer.type, stream_);
}

void CudaBackend::attention(const float* q, const backend::KvLayer& layer,
                            const kernels::AttentionShape& shape, float* out) {
  if (n_tokens_ == 0) return;
  bind();
  check_kv_type(layer.type);
  int64_t max_ctx = 0;
  for (int64_t t = 0; t < n_tokens_; ++t) {
    max_ctx = std::max<int64_t>(max_ctx, host_positions_[t] + 1);
  }
  attention_heads_ = shape.n_heads;
  attention_head_dim_ = shape.head_dim;
  attention_kv_type_ = layer.type;
  const int64_t want =
      attention_scratch_want(n_tokens_, max_ctx, shape.n_heads, shape.head_dim, layer.type);
  if (want > 0) {
    attention_scratch_.reserve_or_die(static_cast<size_t>(want) * sizeof(float), stream_,
                                      "attention states");
  }

  AttentionArgs args;
  args.q = q;
  args.out = out;
  args.k = layer.k;
  args.v = layer.v;
  args.cache_type = layer.type;
  args.row_stride = layer.row_stride;
  args.block_size = layer.block_size;
  args.positions = positions_;
  args.seq_ids = seq_ids_;
  args.block_tables = block_tables_;
  args.table_width = table_width_;
  args.host_positions = host_positions_;
  args.n_tokens = n_tokens_;
  args.n_heads = shape.n_heads;
  args.n_kv_heads = shape.n_kv_heads;
  args.head_dim = shape.head_dim;
  args.scale = shape.scale;
  args.scratch = attention_scratch_.as<float>();
  args.scratch_floats = static_cast<int64_t>(attention_scratch_.capacity() / sizeof(float));
  launch_attention(args, stream_);
}

void CudaBackend::silu_mul(const float* gate, const float* up, int64_t in_stride, float* out,
                           int64_t n_rows, int64_t n) {
  bind();
  launch_silu_mul(gate, up, in_stride, out, n_rows, n, stream_);
}

void CudaBackend::add(const float* a, const float* b, float* out, int64_t n) {
  bind();
  launch_add(a, b, out, n, stream_);
}

void CudaBackend::gather_output_rows(const float* src, int64_t n, float* dst) {
  bind();
  launch_gather_rows(src, n, output_rows_, n_outputs_, dst, stream_);
}

void CudaBackend::select_top_k(float* logits, int64_t n_vocab, int64_t max_k,
                               kernels::TokenCandidate* best) {
  if (output_top_k_ == nullptr) return;
  bind();
  launch_select_top_k(logits, n_vocab, n_outputs_, output_top_k_, output_edit_begin_, logit_edits_,
                      output_draw_, max_k, best, stream_);
}

void CudaBackend::raw_logprobs(const float* logits, int64_t n_vocab, kernels::RowLogprobs* rows,
                               float* edit_raw) {
  if (output_logprobs_ == nullptr) return;
  bind();
  launch_raw_logprobs(logits, n_vocab, n_outputs_, output_logprobs_, output_edit_begin_,
                      logit_edits_, rows, edit_raw, stream_);
}

}  // namespace tenbin::cuda
