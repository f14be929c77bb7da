#include "planner/gguf_model.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "model/gguf/gguf_file.h"
#include "planner/quant_scheme.h"

namespace tenbin::planner {
namespace {

// The scheme name that best describes a file: the type holding most weight bytes, with
// llama.cpp's "_m" suffix when K-quant files mix in q6_K.
std::string dominant_quant(const ModelSpec& m) {
  std::map<DType, int64_t> bytes;
  for (const WeightTensor& t : m.tensors) {
    if (t.rows > 1 && t.stored) bytes[*t.stored] += t.stored_bytes;
  }
  if (bytes.empty()) return "f32";
  const auto top = std::max_element(
      bytes.begin(), bytes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  if (top->first == DType::kQ4_K && bytes.count(DType::kQ6_K)) return "q4_k_m";
  if (top->first == DType::kQ5_K && bytes.count(DType::kQ6_K)) return "q5_k_m";
  std::string name(dtype_name(top->first));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace

Expected<ModelSpec> model_spec_from_gguf(const GgufFile& file) {
  ModelSpec m;
  m.arch = file.architecture();
  if (m.arch.empty()) {
    return Status::Errorf("{}: no general.architecture key; not a model file", file.path());
  }
  m.name = file.get_string("general.name").value_or(m.arch);
  m.source = file.path();
  const std::string a = m.arch + ".";
  auto need = [&](const std::string& key) -> Expected<int64_t> {
    const std::optional<int64_t> v = file.get_int(a + key);
    if (!v || *v <= 0) return Status::Errorf("{}: missing or invalid '{}{}'", file.path(), a, key);
    return *v;
  };
  auto n_embd = need("embedding_length");
  if (!n_embd.ok()) return n_embd.status();
  auto n_layer = need("block_count");
  if (!n_layer.ok()) return n_layer.status();
  auto n_head = need("attention.head_count");
  if (!n_head.ok()) return n_head.status();
  m.n_embd = *n_embd;
  m.n_layer = *n_layer;
  m.n_head = *n_head;
  m.n_head_kv = file.get_int(a + "attention.head_count_kv").value_or(m.n_head);
  m.head_dim = file.get_int(a + "attention.key_length").value_or(m.n_embd / m.n_head);
  m.n_ff = file.get_int(a + "feed_forward_length").value_or(0);
  m.n_ctx = file.get_int(a + "context_length").value_or(0);
  const bool causal = file.get_bool(a + "attention.causal").value_or(true);
  m.kind = causal ? ModelKind::kDecoder : ModelKind::kEncoder;

  for (const GgufTensor& t : file.tensors()) {
    m.tensors.push_back({.name = t.name,
                         .cols = t.cols(),
                         .rows = t.rows(),
                         .stored = t.type,
                         .stored_bytes = t.n_bytes});
  }
  const GgufTensor* embd = file.tensor("token_embd.weight");
  if (embd == nullptr) return Status::Errorf("{}: no token_embd.weight tensor", file.path());
  m.n_vocab = embd->rows();
  m.tied_output = m.kind == ModelKind::kDecoder && file.tensor("output.weight") == nullptr;
  m.file_quant = dominant_quant(m);
  return m;
}

Expected<ModelSpec> model_spec_from_gguf_path(const std::string& path) {
  auto file = GgufFile::open(path);
  if (!file.ok()) return file.status();
  return model_spec_from_gguf(**file);
}

}  // namespace tenbin::planner
