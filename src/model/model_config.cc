#include "model/model_config.h"

#include <cmath>

#include "model/gguf/gguf_file.h"

namespace tenbin {
namespace {

Expected<int64_t> require_int(const GgufFile& file, const std::string& key, int64_t min_value,
                              int64_t max_value) {
  std::optional<int64_t> v = file.get_int(key);
  if (!v) return Status::Errorf("{}: missing or non-integer metadata key '{}'", file.path(), key);
  if (*v < min_value || *v > max_value) {
    return Status::Errorf("{}: metadata '{}' = {} is out of range [{}, {}]", file.path(), key, *v,
                          min_value, max_value);
  }
  return *v;
}

}  // namespace

Expected<ModelConfig> read_model_config(const GgufFile& file) {
  ModelConfig c;
  c.arch = file.architecture();
  if (c.arch != "llama" && c.arch != "qwen2") {
    return Status::Errorf(
        "{}: architecture '{}' (general.architecture) is not supported; supported: llama, qwen2",
        file.path(), c.arch.empty() ? "<missing>" : c.arch);
  }
  c.name = file.get_string("general.name").value_or("");
  const std::string p = c.arch + ".";
  constexpr int64_t kMaxDim = int64_t{1} << 20;

  auto embd = require_int(file, p + "embedding_length", 1, kMaxDim);
  if (!embd.ok()) return embd.status();
  auto layers = require_int(file, p + "block_count", 1, 4096);
  if (!layers.ok()) return layers.status();
  auto heads = require_int(file, p + "attention.head_count", 1, 4096);
  if (!heads.ok()) return heads.status();
  auto ff = require_int(file, p + "feed_forward_length", 1, kMaxDim * 4);
  if (!ff.ok()) return ff.status();
  c.n_embd = *embd;
  c.n_layer = *layers;
  c.n_head = *heads;
  c.n_ff = *ff;
  c.n_head_kv = file.get_int(p + "attention.head_count_kv").value_or(c.n_head);
  if (c.n_head_kv < 1 || c.n_head % c.n_head_kv != 0) {
    return Status::Errorf("{}: attention.head_count_kv = {} must divide head_count = {}",
                          file.path(), c.n_head_kv, c.n_head);
  }
  c.head_dim = file.get_int(p + "attention.key_length").value_or(c.n_embd / c.n_head);
  if (c.head_dim < 1 || c.head_dim % 2 != 0 || c.head_dim > 1024) {
    return Status::Errorf("{}: head dimension {} is not supported", file.path(), c.head_dim);
  }
  c.n_ctx_train = file.get_int(p + "context_length").value_or(2048);
  if (c.n_ctx_train < 1) c.n_ctx_train = 2048;
  c.rms_eps = static_cast<float>(file.get_float(p + "attention.layer_norm_rms_epsilon")
                                     .value_or(c.arch == "qwen2" ? 1e-6 : 1e-5));

  c.rope.style = c.arch == "qwen2" ? kernels::RopeStyle::kNeox : kernels::RopeStyle::kNormal;
  c.rope.rot_dim = static_cast<int>(file.get_int(p + "rope.dimension_count").value_or(c.head_dim));
  if (c.rope.rot_dim < 2 || c.rope.rot_dim > c.head_dim || c.rope.rot_dim % 2 != 0) {
    return Status::Errorf("{}: rope.dimension_count = {} is invalid for head dimension {}",
                          file.path(), c.rope.rot_dim, c.head_dim);
  }
  c.rope.freq_base = static_cast<float>(
      file.get_float(p + "rope.freq_base").value_or(c.arch == "qwen2" ? 1000000.0 : 10000.0));
  std::string scaling = file.get_string(p + "rope.scaling.type").value_or("none");
  double factor = file.get_float(p + "rope.scaling.factor").value_or(0.0);
  if (scaling == "linear" && factor > 0) {
    c.rope.freq_scale = static_cast<float>(1.0 / factor);
  } else if (auto legacy = file.get_float(p + "rope.scale_linear"); legacy && *legacy > 0) {
    c.rope.freq_scale = static_cast<float>(1.0 / *legacy);
  } else if (scaling != "none" && scaling != "linear") {
    return Status::Errorf("{}: rope.scaling.type '{}' is not supported (supported: none, linear)",
                          file.path(), scaling);
  }
  c.qkv_bias = c.arch == "qwen2";
  return c;
}

}  // namespace tenbin
