#include "planner/model_spec.h"

#include <string>

#include "planner/quant_scheme.h"

namespace tenbin::planner {
namespace {

bool is_embedding_table(const std::string& name) {
  return name == "token_embd.weight" || name == "position_embd.weight" ||
         name == "token_types.weight";
}

int64_t tensor_bytes(const ModelSpec& m, const WeightTensor& t, const std::string& quant) {
  if (quant.empty() && t.stored_bytes > 0) return t.stored_bytes;
  const DType type = quant.empty() && t.stored ? *t.stored : tensor_type(quant, t, m.n_layer);
  const std::optional<int64_t> row = row_bytes(type, t.cols);
  return row ? *row * t.rows : t.elements() * 2;
}

}  // namespace

std::string_view model_kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::kDecoder:
      return "decoder";
    case ModelKind::kEncoder:
      return "encoder";
    case ModelKind::kVision:
      return "vision";
  }
  return "decoder";
}

int64_t ModelSpec::params() const {
  int64_t n = 0;
  for (const WeightTensor& t : tensors) n += t.elements();
  return n;
}

int64_t weight_bytes(const ModelSpec& m, const std::string& quant) {
  int64_t bytes = 0;
  for (const WeightTensor& t : m.tensors) bytes += tensor_bytes(m, t, quant);
  return bytes;
}

int64_t step_weight_bytes(const ModelSpec& m, const std::string& quant) {
  int64_t bytes = 0;
  for (const WeightTensor& t : m.tensors) {
    const bool read_as_output = t.name == "token_embd.weight" && m.tied_output;
    if (is_embedding_table(t.name) && !read_as_output) continue;
    bytes += tensor_bytes(m, t, quant);
  }
  return bytes;
}

double flops_per_token(const ModelSpec& m, double pos) {
  if (m.kind == ModelKind::kVision) return 0;
  double matmul = 0;
  for (const WeightTensor& t : m.tensors) {
    if (t.rows > 1 && t.name.rfind("blk.", 0) == 0)
      matmul += 2.0 * static_cast<double>(t.elements());
  }
  const double attention = 2.0 * 2.0 * m.q_dim() * (pos + 1);  // QK^T and PV
  return matmul + logits_flops(m) + m.n_layer * attention;
}

double logits_flops(const ModelSpec& m) {
  return m.kind == ModelKind::kDecoder ? 2.0 * m.n_embd * m.n_vocab : 0.0;
}

double output_only_flops(const ModelSpec& m) {
  if (m.kind != ModelKind::kDecoder) return 0;
  double flops = logits_flops(m);
  const std::string last = "blk." + std::to_string(m.n_layer - 1) + ".";
  for (const WeightTensor& t : m.tensors) {
    if (t.rows <= 1 || t.name.rfind(last, 0) != 0) continue;
    const std::string op = t.name.substr(last.size());
    const bool before_attention = op.rfind("attn_q.", 0) == 0 || op.rfind("attn_k.", 0) == 0 ||
                                  op.rfind("attn_v.", 0) == 0 || op.rfind("attn_qkv.", 0) == 0;
    if (!before_attention) flops += 2.0 * static_cast<double>(t.elements());
  }
  return flops;
}

double prefill_flops(const ModelSpec& m, int64_t tokens) {
  if (tokens <= 0) return 0;
  return tokens * flops_per_token(m, tokens / 2.0) - (tokens - 1) * output_only_flops(m);
}

double kv_bytes_per_token(const ModelSpec& m, double bytes_per_element) {
  if (m.kind != ModelKind::kDecoder) return 0;
  return 2.0 * m.n_layer * m.n_head_kv * m.head_dim * bytes_per_element;
}

}  // namespace tenbin::planner
