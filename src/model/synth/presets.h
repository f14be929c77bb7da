// Shapes of real models that `tenbin synth` reproduces with random weights: architecture,
// hyper-parameters and tokenizer family, as the models' published configs state them.
// The synthetic files have the exact tensor shapes and metadata of the real GGUFs, so memory,
// speed and loader behaviour match; only the weights (and the vocabulary's pieces) are fake.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tenbin::synth {

enum class VocabFamily {
  kSpm,     // SentencePiece `llama` vocab (LLaMA 1/2, TinyLlama, Mistral)
  kLlama3,  // byte-level BPE `gpt2`, pre-tokenizer `llama-bpe`, 256 special tokens at the end
  kQwen2,   // byte-level BPE `gpt2`, pre-tokenizer `qwen2`, ChatML special tokens
};

enum class ChatStyle { kLlama2, kZephyr, kMistral, kLlama3, kChatMl };

struct ModelPreset {
  std::string name;    // what --preset takes
  std::string arch;    // general.architecture: "llama" or "qwen2"
  std::string source;  // the real model whose shape this is
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t n_ff = 0;
  int64_t n_ctx = 0;
  double rope_base = 10000;
  double rms_eps = 1e-5;
  bool qkv_bias = false;         // attn_q/k/v.bias tensors (qwen2)
  bool tied_embeddings = false;  // no output.weight; logits reuse token_embd
  VocabFamily vocab = VocabFamily::kSpm;
  ChatStyle chat = ChatStyle::kLlama2;

  int64_t head_dim() const { return n_embd / n_head; }
};

const std::vector<ModelPreset>& model_presets();
// nullptr when no preset has this name.
const ModelPreset* find_preset(std::string_view name);
// "demo, tinyllama-1.1b, ..." for help texts and error messages.
std::string preset_names();

}  // namespace tenbin::synth
