// Binds the GGUF tensors of a LLaMA-family model to LlamaModel's weight views, checking every
// shape and type against the config before anything runs.
#include <string>

#include "model/arch/llama_model.h"
#include "model/gguf/gguf_file.h"

namespace tenbin {
namespace {

class WeightBinder {
 public:
  explicit WeightBinder(const GgufFile& file) : file_(file) {}

  // A 2-D weight stored as [cols (ne0), rows (ne1)].
  Expected<kernels::MatrixView> matrix(const std::string& name, int64_t rows, int64_t cols) {
    const GgufTensor* t = file_.tensor(name);
    if (t == nullptr) return Status::Errorf("{}: missing tensor '{}'", file_.path(), name);
    if (t->dims.size() != 2 || t->dims[0] != cols || (rows > 0 && t->dims[1] != rows)) {
      return Status::Errorf("{}: tensor '{}' has shape {} but the model needs [{}, {}]",
                            file_.path(), name, shape(*t), cols, rows);
    }
    bytes_ += t->n_bytes;
    return kernels::MatrixView{t->type, t->data, t->dims[1], t->dims[0]};
  }

  // A 1-D vector of n values, converted to f32.
  Expected<std::vector<float>> vector(const std::string& name, int64_t n) {
    const GgufTensor* t = file_.tensor(name);
    if (t == nullptr) return Status::Errorf("{}: missing tensor '{}'", file_.path(), name);
    if (t->n_elements != n) {
      return Status::Errorf("{}: tensor '{}' has shape {} but the model needs [{}]", file_.path(),
                            name, shape(*t), n);
    }
    std::vector<float> out(n);
    kernels::dequantize_row(t->type, t->data, out.data(), n);
    return out;
  }

  bool has(const std::string& name) const { return file_.tensor(name) != nullptr; }
  int64_t bytes() const { return bytes_; }

 private:
  static std::string shape(const GgufTensor& t) {
    std::string s = "[";
    for (size_t i = 0; i < t.dims.size(); ++i) s += (i ? ", " : "") + std::to_string(t.dims[i]);
    return s + "]";
  }

  const GgufFile& file_;
  int64_t bytes_ = 0;
};

#define TENBIN_ASSIGN_OR_RETURN(lhs, expr)      \
  do {                                          \
    auto result_ = (expr);                      \
    if (!result_.ok()) return result_.status(); \
    lhs = std::move(*result_);                  \
  } while (0)

}  // namespace

Expected<std::unique_ptr<LlamaModel>> LlamaModel::load(const GgufFile& file) {
  Expected<ModelConfig> config = read_model_config(file);
  if (!config.ok()) return config.status();
  std::unique_ptr<LlamaModel> m(new LlamaModel());
  m->config_ = *config;
  ModelConfig& c = m->config_;
  WeightBinder bind(file);

  TENBIN_ASSIGN_OR_RETURN(m->token_embd_, bind.matrix("token_embd.weight", 0, c.n_embd));
  c.n_vocab = m->token_embd_.rows;
  TENBIN_ASSIGN_OR_RETURN(m->output_norm_, bind.vector("output_norm.weight", c.n_embd));
  if (bind.has("output.weight")) {
    TENBIN_ASSIGN_OR_RETURN(m->output_, bind.matrix("output.weight", c.n_vocab, c.n_embd));
  } else {
    c.tied_output = true;
    m->output_ = m->token_embd_;
  }

  m->layers_.resize(c.n_layer);
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LlamaLayerWeights& l = m->layers_[i];
    TENBIN_ASSIGN_OR_RETURN(l.attn_norm, bind.vector(p + "attn_norm.weight", c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.wq, bind.matrix(p + "attn_q.weight", c.q_dim(), c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.wk, bind.matrix(p + "attn_k.weight", c.kv_dim(), c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.wv, bind.matrix(p + "attn_v.weight", c.kv_dim(), c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.wo, bind.matrix(p + "attn_output.weight", c.n_embd, c.q_dim()));
    if (c.qkv_bias) {
      TENBIN_ASSIGN_OR_RETURN(l.bq, bind.vector(p + "attn_q.bias", c.q_dim()));
      TENBIN_ASSIGN_OR_RETURN(l.bk, bind.vector(p + "attn_k.bias", c.kv_dim()));
      TENBIN_ASSIGN_OR_RETURN(l.bv, bind.vector(p + "attn_v.bias", c.kv_dim()));
    }
    TENBIN_ASSIGN_OR_RETURN(l.ffn_norm, bind.vector(p + "ffn_norm.weight", c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.w_gate, bind.matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.w_up, bind.matrix(p + "ffn_up.weight", c.n_ff, c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.w_down, bind.matrix(p + "ffn_down.weight", c.n_embd, c.n_ff));
  }
  // Per token every layer matrix and the output matrix are read once; an untied embedding
  // matrix is only looked up one row at a time, so it does not count.
  const GgufTensor* embd = file.tensor("token_embd.weight");
  m->weight_bytes_ = bind.bytes() - (c.tied_output ? 0 : embd->n_bytes);
  m->pack_weights();
  return m;
}

// Repacks every matmul weight the active kernels read faster in their own layout. The
// embedding table stays as stored (rows are looked up one at a time); a tied output matrix
// gets its own packed copy.
void LlamaModel::pack_weights() {
  auto pack = [this](kernels::MatrixView& view) {
    std::optional<kernels::PackedMatrix> p = kernels::pack_for_matmul(view);
    if (!p) return;
    view = p->view;
    packed_.push_back(std::move(*p));
  };
  // Matrices that read the same input are stacked, so they run as one matmul (one activation
  // quantization, one parallel pass).
  auto pack_stacked = [this](std::vector<kernels::MatrixView*> parts, kernels::MatrixView* whole) {
    std::vector<kernels::MatrixView> views;
    for (kernels::MatrixView* p : parts) views.push_back(*p);
    std::vector<kernels::MatrixView> inside;
    std::optional<kernels::PackedMatrix> p = kernels::pack_concat_for_matmul(views, &inside);
    if (!p) return false;
    for (size_t i = 0; i < parts.size(); ++i) *parts[i] = inside[i];
    *whole = p->view;
    packed_.push_back(std::move(*p));
    return true;
  };
  for (LlamaLayerWeights& l : layers_) {
    if (!pack_stacked({&l.wq, &l.wk, &l.wv}, &l.wqkv)) {
      for (kernels::MatrixView* v : {&l.wq, &l.wk, &l.wv}) pack(*v);
    }
    if (!pack_stacked({&l.w_gate, &l.w_up}, &l.w_gate_up)) {
      for (kernels::MatrixView* v : {&l.w_gate, &l.w_up}) pack(*v);
    }
    pack(l.wo);
    pack(l.w_down);
  }
  pack(output_);
}

Expected<KvCache> LlamaModel::make_kv_cache(int64_t n_blocks, DType type,
                                            int64_t block_size) const {
  return KvCache::create({config_.n_layer, config_.kv_dim(), n_blocks, block_size, type});
}

Expected<KvCache> LlamaModel::make_kv_cache_for_bytes(double budget_bytes, int64_t block_size,
                                                      DType type) const {
  return KvCache::create_for_bytes({config_.n_layer, config_.kv_dim(), 0, block_size, type},
                                   budget_bytes);
}

}  // namespace tenbin
