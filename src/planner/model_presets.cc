#include "planner/model_presets.h"

#include "model/synth/presets.h"

namespace tenbin::planner {
namespace {

void add(ModelSpec& m, std::string name, int64_t cols, int64_t rows = 1) {
  m.tensors.push_back({.name = std::move(name), .cols = cols, .rows = rows});
}

// Decoders beyond the ones `tenbin synth` already knows. Figures from the Hugging Face
// config.json of the repository in `source`.
std::vector<DecoderShape> extra_decoders() {
  return {
      {.name = "llama-2-13b",
       .arch = "llama",
       .source = "meta-llama/Llama-2-13b-hf config.json",
       .n_vocab = 32000,
       .n_embd = 5120,
       .n_layer = 40,
       .n_head = 40,
       .n_head_kv = 40,
       .n_ff = 13824,
       .n_ctx = 4096},
      {.name = "llama-2-70b",
       .arch = "llama",
       .source = "meta-llama/Llama-2-70b-hf config.json",
       .n_vocab = 32000,
       .n_embd = 8192,
       .n_layer = 80,
       .n_head = 64,
       .n_head_kv = 8,
       .n_ff = 28672,
       .n_ctx = 4096},
      {.name = "llama-3-70b",
       .arch = "llama",
       .source = "meta-llama/Meta-Llama-3-70B-Instruct config.json",
       .n_vocab = 128256,
       .n_embd = 8192,
       .n_layer = 80,
       .n_head = 64,
       .n_head_kv = 8,
       .n_ff = 28672,
       .n_ctx = 8192},
  };
}

std::vector<EncoderShape> encoders() {
  return {
      {.name = "bert-base",
       .source = "google-bert/bert-base-uncased config.json",
       .n_vocab = 30522,
       .n_embd = 768,
       .n_layer = 12,
       .n_head = 12,
       .n_ff = 3072,
       .n_ctx = 512},
      {.name = "bert-large",
       .source = "google-bert/bert-large-uncased config.json",
       .n_vocab = 30522,
       .n_embd = 1024,
       .n_layer = 24,
       .n_head = 16,
       .n_ff = 4096,
       .n_ctx = 512},
  };
}

// YOLOv5s: 7.2 M parameters and 16.5 GFLOPs per 640x640 image (the model table of the
// ultralytics/yolov5 README). Feature maps: about 25 M values per 640x640 image summed over
// the layers (estimated from the layer output shapes), each written and read once in fp16.
ModelSpec yolov5s() {
  ModelSpec m;
  m.name = "yolov5s";
  m.source = "ultralytics/yolov5 README (7.2M params, 16.5 GFLOPs at 640)";
  m.kind = ModelKind::kVision;
  m.arch = "yolov5";
  m.image_size = 640;
  m.gflops_per_image = 16.5;
  m.activation_bytes_per_image = 25e6 * 2 * 2;
  add(m, "conv.weight", 3200, 2250);  // 7.2 M weights in one block for the memory model
  return m;
}

DecoderShape from_synth(const synth::ModelPreset& p) {
  return {.name = p.name,
          .arch = p.arch,
          .source = p.source + " config.json",
          .n_vocab = p.n_vocab,
          .n_embd = p.n_embd,
          .n_layer = p.n_layer,
          .n_head = p.n_head,
          .n_head_kv = p.n_head_kv,
          .n_ff = p.n_ff,
          .n_ctx = p.n_ctx,
          .qkv_bias = p.qkv_bias,
          .tied_output = p.tied_embeddings};
}

}  // namespace

ModelSpec decoder_spec(const DecoderShape& s) {
  ModelSpec m;
  m.name = s.name;
  m.source = s.source;
  m.kind = ModelKind::kDecoder;
  m.arch = s.arch;
  m.n_vocab = s.n_vocab;
  m.n_embd = s.n_embd;
  m.n_layer = s.n_layer;
  m.n_head = s.n_head;
  m.n_head_kv = s.n_head_kv;
  m.head_dim = s.n_embd / s.n_head;
  m.n_ff = s.n_ff;
  m.n_ctx = s.n_ctx;
  m.tied_output = s.tied_output;
  const int64_t d = s.n_embd, q = m.q_dim(), kv = m.kv_dim();
  add(m, "token_embd.weight", d, s.n_vocab);
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    add(m, b + "attn_norm.weight", d);
    add(m, b + "attn_q.weight", d, q);
    add(m, b + "attn_k.weight", d, kv);
    add(m, b + "attn_v.weight", d, kv);
    if (s.qkv_bias) {
      add(m, b + "attn_q.bias", q);
      add(m, b + "attn_k.bias", kv);
      add(m, b + "attn_v.bias", kv);
    }
    add(m, b + "attn_output.weight", q, d);
    add(m, b + "ffn_norm.weight", d);
    add(m, b + "ffn_gate.weight", d, s.n_ff);
    add(m, b + "ffn_up.weight", d, s.n_ff);
    add(m, b + "ffn_down.weight", s.n_ff, d);
  }
  add(m, "output_norm.weight", d);
  if (!s.tied_output) add(m, "output.weight", d, s.n_vocab);
  return m;
}

ModelSpec encoder_spec(const EncoderShape& s) {
  ModelSpec m;
  m.name = s.name;
  m.source = s.source;
  m.kind = ModelKind::kEncoder;
  m.arch = "bert";
  m.n_vocab = s.n_vocab;
  m.n_embd = s.n_embd;
  m.n_layer = s.n_layer;
  m.n_head = s.n_head;
  m.n_head_kv = s.n_head;
  m.head_dim = s.n_embd / s.n_head;
  m.n_ff = s.n_ff;
  m.n_ctx = s.n_ctx;
  const int64_t d = s.n_embd;
  add(m, "token_embd.weight", d, s.n_vocab);
  add(m, "position_embd.weight", d, s.n_ctx);
  add(m, "token_types.weight", d, 2);
  add(m, "token_embd_norm.weight", d);
  add(m, "token_embd_norm.bias", d);
  for (int64_t i = 0; i < s.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    for (const char* w : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      add(m, b + w + ".weight", d, d);
      add(m, b + w + ".bias", d);
    }
    add(m, b + "attn_output_norm.weight", d);
    add(m, b + "attn_output_norm.bias", d);
    add(m, b + "ffn_up.weight", d, s.n_ff);
    add(m, b + "ffn_up.bias", s.n_ff);
    add(m, b + "ffn_down.weight", s.n_ff, d);
    add(m, b + "ffn_down.bias", d);
    add(m, b + "layer_output_norm.weight", d);
    add(m, b + "layer_output_norm.bias", d);
  }
  return m;
}

std::optional<ModelSpec> find_model_preset(const std::string& name) {
  for (const synth::ModelPreset& p : synth::model_presets()) {
    if (p.name == name && p.name != "demo") return decoder_spec(from_synth(p));
  }
  for (const DecoderShape& s : extra_decoders()) {
    if (s.name == name) return decoder_spec(s);
  }
  for (const EncoderShape& s : encoders()) {
    if (s.name == name) return encoder_spec(s);
  }
  if (name == "yolov5s") return yolov5s();
  return std::nullopt;
}

std::vector<std::string> model_preset_names() {
  std::vector<std::string> out;
  for (const synth::ModelPreset& p : synth::model_presets()) {
    if (p.name != "demo") out.push_back(p.name);
  }
  for (const DecoderShape& s : extra_decoders()) out.push_back(s.name);
  for (const EncoderShape& s : encoders()) out.push_back(s.name);
  out.push_back("yolov5s");
  return out;
}

}  // namespace tenbin::planner
