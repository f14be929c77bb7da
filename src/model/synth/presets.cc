#include "model/synth/presets.h"

namespace tenbin::synth {
namespace {

// Figures from each model's Hugging Face config.json (vocab_size, hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, intermediate_size, max_position_embeddings,
// rope_theta, rms_norm_eps, tie_word_embeddings); the repository is named in `source`.
std::vector<ModelPreset> make_presets() {
  std::vector<ModelPreset> p;
  // Not a real model: small enough to synthesize in a fraction of a second for demos and tests.
  p.push_back({.name = "demo",
               .arch = "llama",
               .source = "none (tiny LLaMA-shaped demo model)",
               .n_vocab = 4096,
               .n_embd = 256,
               .n_layer = 4,
               .n_head = 8,
               .n_head_kv = 4,
               .n_ff = 768,
               .n_ctx = 1024,
               .chat = ChatStyle::kLlama2});
  // TinyLlama/TinyLlama-1.1B-Chat-v1.0: GQA 32/4, trained at 2048 tokens.
  p.push_back({.name = "tinyllama-1.1b",
               .arch = "llama",
               .source = "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
               .n_vocab = 32000,
               .n_embd = 2048,
               .n_layer = 22,
               .n_head = 32,
               .n_head_kv = 4,
               .n_ff = 5632,
               .n_ctx = 2048,
               .chat = ChatStyle::kZephyr});
  // meta-llama/Llama-2-7b-hf: multi-head attention (32 KV heads).
  p.push_back({.name = "llama-2-7b",
               .arch = "llama",
               .source = "meta-llama/Llama-2-7b-hf",
               .n_vocab = 32000,
               .n_embd = 4096,
               .n_layer = 32,
               .n_head = 32,
               .n_head_kv = 32,
               .n_ff = 11008,
               .n_ctx = 4096,
               .chat = ChatStyle::kLlama2});
  // meta-llama/Meta-Llama-3-8B-Instruct: 128,000 BPE tokens + 256 specials, theta 500000.
  p.push_back({.name = "llama-3-8b",
               .arch = "llama",
               .source = "meta-llama/Meta-Llama-3-8B-Instruct",
               .n_vocab = 128256,
               .n_embd = 4096,
               .n_layer = 32,
               .n_head = 32,
               .n_head_kv = 8,
               .n_ff = 14336,
               .n_ctx = 8192,
               .rope_base = 500000,
               .vocab = VocabFamily::kLlama3,
               .chat = ChatStyle::kLlama3});
  // mistralai/Mistral-7B-Instruct-v0.2: theta 1e6 and no sliding window (v0.1 had theta 1e4
  // and a 4096-token window).
  p.push_back({.name = "mistral-7b",
               .arch = "llama",
               .source = "mistralai/Mistral-7B-Instruct-v0.2",
               .n_vocab = 32000,
               .n_embd = 4096,
               .n_layer = 32,
               .n_head = 32,
               .n_head_kv = 8,
               .n_ff = 14336,
               .n_ctx = 32768,
               .rope_base = 1e6,
               .chat = ChatStyle::kMistral});
  // Qwen/Qwen2-7B-Instruct: embedding rows padded to 152064 (151,646 real tokens), untied.
  p.push_back({.name = "qwen2-7b",
               .arch = "qwen2",
               .source = "Qwen/Qwen2-7B-Instruct",
               .n_vocab = 152064,
               .n_embd = 3584,
               .n_layer = 28,
               .n_head = 28,
               .n_head_kv = 4,
               .n_ff = 18944,
               .n_ctx = 32768,
               .rope_base = 1e6,
               .rms_eps = 1e-6,
               .qkv_bias = true,
               .vocab = VocabFamily::kQwen2,
               .chat = ChatStyle::kChatMl});
  // Qwen/Qwen2-0.5B-Instruct: tied embeddings, head_dim 64.
  p.push_back({.name = "qwen2-0.5b",
               .arch = "qwen2",
               .source = "Qwen/Qwen2-0.5B-Instruct",
               .n_vocab = 151936,
               .n_embd = 896,
               .n_layer = 24,
               .n_head = 14,
               .n_head_kv = 2,
               .n_ff = 4864,
               .n_ctx = 32768,
               .rope_base = 1e6,
               .rms_eps = 1e-6,
               .qkv_bias = true,
               .tied_embeddings = true,
               .vocab = VocabFamily::kQwen2,
               .chat = ChatStyle::kChatMl});
  return p;
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> kPresets = make_presets();
  return kPresets;
}

const ModelPreset* find_preset(std::string_view name) {
  for (const ModelPreset& p : model_presets()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string preset_names() {
  std::string out;
  for (const ModelPreset& p : model_presets()) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

}  // namespace tenbin::synth
