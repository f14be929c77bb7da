// Hyper-parameters of a decoder-only transformer of the LLaMA family, read from GGUF metadata
// (`<arch>.embedding_length`, `.block_count`, ...). Knows which architectures the engine runs
// and refuses anything else with a message naming the key and the value.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/ops.h"
#include "util/status.h"

namespace tenbin {

class GgufFile;

struct ModelConfig {
  std::string arch;  // "llama", "qwen2"
  std::string name;  // general.name, "" when absent
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // n_embd / n_head unless the file says otherwise
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float rms_eps = 1e-5f;
  kernels::RopeParams rope;
  bool qkv_bias = false;     // qwen2
  bool tied_output = false;  // no output.weight: logits reuse token_embd

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

// Reads the config of a supported architecture; tied_output is decided from the tensors.
Expected<ModelConfig> read_model_config(const GgufFile& file);

}  // namespace tenbin
