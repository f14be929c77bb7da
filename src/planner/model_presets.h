// Built-in model shapes the planner knows by name (`--model llama-2-7b`): the LLaMA-family
// presets `tenbin synth` also uses, larger LLaMA models, BERT encoders and a YOLOv5s-class
// detector. Figures come from each model's published config; `source` names it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "planner/model_spec.h"

namespace tenbin::planner {

// Shape of a LLaMA-family decoder, enough to list its weight tensors as a GGUF file names them.
struct DecoderShape {
  std::string name = "", arch = "llama", source = "";
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx = 0;
  bool qkv_bias = false;
  bool tied_output = false;
};

// Shape of a BERT-family encoder (post-norm, biases, learned positions, 2 token types).
struct EncoderShape {
  std::string name = "", source = "";
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_ff = 0, n_ctx = 0;
};

ModelSpec decoder_spec(const DecoderShape& shape);
ModelSpec encoder_spec(const EncoderShape& shape);

// The preset of that name, or nullopt.
std::optional<ModelSpec> find_model_preset(const std::string& name);
std::vector<std::string> model_preset_names();

}  // namespace tenbin::planner
