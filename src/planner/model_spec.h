// What the planner knows about a model: its shape (hyper-parameters), every weight tensor's
// name and size, and the arithmetic derived from them (parameters, bytes per quantization,
// FLOPs and bytes per token, KV-cache bytes per token). Built from a preset or a GGUF file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace tenbin::planner {

enum class ModelKind {
  kDecoder,  // LLaMA-family causal LM: prefill then token-by-token decode with a KV cache
  kEncoder,  // BERT-family: one forward pass per request, no KV cache
  kVision,   // convolutional detector: FLOPs per image given directly
};

std::string_view model_kind_name(ModelKind kind);

// One weight tensor. `cols` is the contiguous (row) dimension, GGUF's ne[0].
struct WeightTensor {
  std::string name;
  int64_t cols = 0;
  int64_t rows = 1;                            // product of the other dimensions; 1 for vectors
  std::optional<DType> stored = std::nullopt;  // the type in the GGUF file; nullopt for presets
  int64_t stored_bytes = 0;                    // exact bytes in the file (0 for presets)
  int64_t elements() const { return cols * rows; }
};

struct ModelSpec {
  std::string name;
  std::string source;  // where the figures come from (a config.json, a file path)
  ModelKind kind = ModelKind::kDecoder;
  std::string arch;  // "llama", "qwen2", "bert", "yolov5"
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t n_ctx = 0;  // trained context length
  bool tied_output = false;
  std::vector<WeightTensor> tensors;
  // Vision models: arithmetic of one image at `image_size` x `image_size` pixels, and the
  // bytes of feature maps written and read per image (fp16).
  double gflops_per_image = 0;
  int64_t image_size = 0;
  double activation_bytes_per_image = 0;
  // Quantization of the GGUF file as stored ("q4_0"), "" for presets.
  std::string file_quant;

  int64_t kv_dim() const { return n_head_kv * head_dim; }
  int64_t q_dim() const { return n_head * head_dim; }
  int64_t params() const;
};

// Total weight bytes when every tensor takes the type `quant` gives it ("" = as stored).
int64_t weight_bytes(const ModelSpec& m, const std::string& quant);
// Bytes of weights read once per forward step: everything but the embedding tables, which a
// step only gathers rows from (unless the output layer reuses token_embd).
int64_t step_weight_bytes(const ModelSpec& m, const std::string& quant);
// Matmul and attention FLOPs of one token at context position `pos` (the same arithmetic as
// `tenbin perf` reports, so calibrations from it compare like with like).
double flops_per_token(const ModelSpec& m, double pos);
// The logits (output matrix) share of flops_per_token: 2 x hidden x vocab for decoders.
double logits_flops(const ModelSpec& m);
// The share of flops_per_token a prefill spends only on the tokens whose logits are wanted:
// the logits, and the last layer's attention output projection and MLP (once attention has
// stored every token's K/V, the other tokens no longer matter; llama.cpp and this project's
// engine skip them there, as every engine skips their logits).
double output_only_flops(const ModelSpec& m);
// FLOPs of the prefill of a `tokens`-token prompt: every token through the blocks, the output
// only work for the last token.
double prefill_flops(const ModelSpec& m, int64_t tokens);
// K and V bytes of one token for all layers: 2 x layers x kv_heads x head_dim x bytes.
double kv_bytes_per_token(const ModelSpec& m, double bytes_per_element = 2.0);

}  // namespace tenbin::planner
