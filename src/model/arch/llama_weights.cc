// Binds the GGUF tensors of a LLaMA-family model to LlamaModel's weight views, checking every
// shape and type against the config before anything runs.
#include <string>

#include "backend/cpu_backend.h"
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

// A tied output matrix the backend keeps in its stored row layout can serve as the embedding
// table too (no second copy on the device).
bool tied_rows_shared(const ModelConfig& c, const kernels::MatrixView& output,
                      const kernels::MatrixView& embd) {
  return c.tied_output && output.layout == kernels::WeightLayout::kRows && output.type == embd.type;
}

}  // namespace

Expected<std::unique_ptr<LlamaModel>> LlamaModel::load(const GgufFile& file,
                                                       std::unique_ptr<backend::Backend> backend) {
  Expected<ModelConfig> config = read_model_config(file);
  if (!config.ok()) return config.status();
  std::unique_ptr<LlamaModel> m(new LlamaModel());
  m->backend_ = backend ? std::move(backend) : std::make_unique<backend::CpuBackend>();
  m->config_ = *config;
  ModelConfig& c = m->config_;
  WeightBinder bind(file);
  // A 1-D weight converted to f32 and copied into the backend's memory.
  auto vector = [&](const std::string& name, int64_t n) -> Expected<const float*> {
    Expected<std::vector<float>> host = bind.vector(name, n);
    if (!host.ok()) return host.status();
    return m->resident_vector(*host);
  };

  TENBIN_ASSIGN_OR_RETURN(m->token_embd_, bind.matrix("token_embd.weight", 0, c.n_embd));
  c.n_vocab = m->token_embd_.rows;
  TENBIN_ASSIGN_OR_RETURN(m->output_norm_, vector("output_norm.weight", c.n_embd));
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
    TENBIN_ASSIGN_OR_RETURN(l.attn_norm, vector(p + "attn_norm.weight", c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.wq, bind.matrix(p + "attn_q.weight", c.q_dim(), c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.wk, bind.matrix(p + "attn_k.weight", c.kv_dim(), c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.wv, bind.matrix(p + "attn_v.weight", c.kv_dim(), c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.wo, bind.matrix(p + "attn_output.weight", c.n_embd, c.q_dim()));
    if (c.qkv_bias) {
      TENBIN_ASSIGN_OR_RETURN(l.bq, vector(p + "attn_q.bias", c.q_dim()));
      TENBIN_ASSIGN_OR_RETURN(l.bk, vector(p + "attn_k.bias", c.kv_dim()));
      TENBIN_ASSIGN_OR_RETURN(l.bv, vector(p + "attn_v.bias", c.kv_dim()));
    }
    TENBIN_ASSIGN_OR_RETURN(l.ffn_norm, vector(p + "ffn_norm.weight", c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.w_gate, bind.matrix(p + "ffn_gate.weight", c.n_ff, c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.w_up, bind.matrix(p + "ffn_up.weight", c.n_ff, c.n_embd));
    TENBIN_ASSIGN_OR_RETURN(l.w_down, bind.matrix(p + "ffn_down.weight", c.n_embd, c.n_ff));
  }
  // Per token every layer matrix and the output matrix are read once; an untied embedding
  // matrix is only looked up one row at a time, so it does not count.
  const GgufTensor* embd = file.tensor("token_embd.weight");
  m->weight_bytes_ = bind.bytes() - (c.tied_output ? 0 : embd->n_bytes);
  TENBIN_RETURN_IF_ERROR(m->make_weights_resident());
  return m;
}

Expected<const float*> LlamaModel::resident_vector(const std::vector<float>& host) {
  const size_t bytes = host.size() * sizeof(float);
  Expected<backend::Buffer> buffer = backend_->allocate(bytes);
  if (!buffer.ok()) return buffer.status();
  backend_->upload(buffer->data(), host.data(), bytes);
  const float* data = buffer->as<const float>();
  weight_buffers_.push_back(std::move(*buffer));
  return data;
}

// Hands every matmul weight to the backend, which reads it in place, repacks it for its
// kernels (CPU) or uploads it (GPU). Matrices that read the same input are stacked where the
// backend can, so they run as one matmul (one activation quantization, one parallel pass). The
// embedding table stays as stored (rows are looked up one at a time); a tied output matrix gets
// its own resident copy.
Status LlamaModel::make_weights_resident() {
  backend::Backend& be = *backend_;
  auto resident = [&](kernels::MatrixView& view) -> Status {
    Expected<backend::ResidentMatrix> r = be.make_resident(view);
    if (!r.ok()) return r.status();
    view = r->view;
    if (r->bytes) weight_buffers_.push_back(std::move(r->bytes));
    return Status::Ok();
  };
  auto stacked = [&](std::vector<kernels::MatrixView*> parts, kernels::MatrixView* whole) {
    std::vector<kernels::MatrixView> views;
    for (kernels::MatrixView* p : parts) views.push_back(*p);
    std::vector<kernels::MatrixView> inside;
    std::optional<backend::ResidentMatrix> r = be.make_resident_stacked(views, &inside);
    if (!r) return false;
    for (size_t i = 0; i < parts.size(); ++i) *parts[i] = inside[i];
    *whole = r->view;
    weight_buffers_.push_back(std::move(r->bytes));
    return true;
  };
  for (LlamaLayerWeights& l : layers_) {
    if (!stacked({&l.wq, &l.wk, &l.wv}, &l.wqkv)) {
      for (kernels::MatrixView* v : {&l.wq, &l.wk, &l.wv}) TENBIN_RETURN_IF_ERROR(resident(*v));
    }
    if (!stacked({&l.w_gate, &l.w_up}, &l.w_gate_up)) {
      for (kernels::MatrixView* v : {&l.w_gate, &l.w_up}) TENBIN_RETURN_IF_ERROR(resident(*v));
    }
    TENBIN_RETURN_IF_ERROR(resident(l.wo));
    TENBIN_RETURN_IF_ERROR(resident(l.w_down));
  }
  TENBIN_RETURN_IF_ERROR(resident(output_));
  TENBIN_RETURN_IF_ERROR(be.check_table_type(token_embd_.type));
  if (!be.host_memory() && tied_rows_shared(config_, output_, token_embd_)) {
    token_embd_.data = output_.data;  // the tied output matrix, uploaded as stored
  } else if (!be.host_memory()) {
    // The embedding rows are read by the backend's embed op, so they live in its memory too.
    const int64_t bytes = *row_bytes(token_embd_.type, token_embd_.cols) * token_embd_.rows;
    Expected<backend::Buffer> table = be.allocate(static_cast<size_t>(bytes));
    if (!table.ok()) return table.status();
    be.upload(table->data(), token_embd_.data, static_cast<size_t>(bytes));
    token_embd_.data = table->data();
    weight_buffers_.push_back(std::move(*table));
  }
  return Status::Ok();
}

Expected<KvCache> LlamaModel::make_kv_cache(int64_t n_blocks, DType type,
                                            int64_t block_size) const {
  return KvCache::create(
      {config_.n_layer, config_.kv_dim(), n_blocks, block_size, type, config_.head_dim},
      backend_.get());
}

Expected<KvCache> LlamaModel::make_kv_cache_for_bytes(double budget_bytes, int64_t block_size,
                                                      DType type) const {
  return KvCache::create_for_bytes(
      {config_.n_layer, config_.kv_dim(), 0, block_size, type, config_.head_dim}, budget_bytes,
      backend_.get());
}

}  // namespace tenbin
