#include "model/synth/synth_model.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "kernels/ops.h"
#include "model/quantize/quantize_model.h"
#include "model/quantize/row_stream.h"
#include "model/synth/vocab_gen.h"

namespace tenbin::synth {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// xoshiro256+: fast; the slight weakness of its lowest bits does not matter for weights.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (uint64_t& w : s_) w = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t result = s_[0] + s_[3];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = (s_[3] << 45) | (s_[3] >> 19);
    return result;
  }

 private:
  uint64_t s_[4];
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// n values with mean 0 and standard deviation `stddev`: each is the sum of two uniforms
// (a triangular distribution, variance 1/6 before scaling), close enough to normal for weights.
void fill_random(uint64_t seed, float stddev, float* out, int64_t n) {
  Xoshiro256 rng(seed);
  const float scale = stddev * std::sqrt(6.0f) / 65536.0f;
  int64_t i = 0;
  while (i < n) {
    uint64_t r = rng.next();
    for (int lane = 0; lane < 2 && i < n; ++lane, ++i) {
      int32_t a = static_cast<int32_t>(r & 0xFFFF);
      int32_t b = static_cast<int32_t>((r >> 16) & 0xFFFF);
      out[i] = static_cast<float>(a + b - 65535) * scale;
      r >>= 32;
    }
  }
}

GgufValue u32(int64_t v) {
  return GgufValue::of_u32(static_cast<uint32_t>(v));
}

}  // namespace

Expected<ModelPreset> resolve_preset(const SynthOptions& options) {
  const ModelPreset* p = find_preset(options.preset);
  if (p == nullptr) {
    return Status::Errorf("unknown preset '{}' (available: {})", options.preset, preset_names());
  }
  ModelPreset preset = *p;
  if (options.layers < 0 || options.layers > 1024) {
    return Status::Errorf("--layers {} is out of range (1..1024, or 0 for the preset's {})",
                          options.layers, preset.n_layer);
  }
  if (options.layers > 0) preset.n_layer = options.layers;
  return preset;
}

std::vector<TensorSpec> model_tensors(const ModelPreset& p, const QuantTarget& target) {
  const int64_t embd = p.n_embd;
  const int64_t kv = p.n_head_kv * p.head_dim();
  auto matrix_type = [&](const std::string& name, int64_t cols) {
    const DType type = target.type_for(name, p.n_layer);
    return cols % traits(type).block_elems == 0 ? type : DType::kF16;
  };
  auto matrix = [&](std::string name, int64_t in, int64_t out) {
    const DType type = matrix_type(name, in);
    return TensorSpec{std::move(name), {in, out}, type, 1.0f / std::sqrt(static_cast<float>(in))};
  };
  auto vec = [&](std::string name, int64_t n, float stddev) {
    return TensorSpec{std::move(name), {n}, DType::kF32, stddev};
  };
  std::vector<TensorSpec> t;
  t.push_back(matrix("token_embd.weight", embd, p.n_vocab));
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const std::string b = fmt::format("blk.{}.", l);
    t.push_back(vec(b + "attn_norm.weight", embd, 0));
    t.push_back(matrix(b + "attn_q.weight", embd, embd));
    if (p.qkv_bias) t.push_back(vec(b + "attn_q.bias", embd, 0.02f));
    t.push_back(matrix(b + "attn_k.weight", embd, kv));
    if (p.qkv_bias) t.push_back(vec(b + "attn_k.bias", kv, 0.02f));
    t.push_back(matrix(b + "attn_v.weight", embd, kv));
    if (p.qkv_bias) t.push_back(vec(b + "attn_v.bias", kv, 0.02f));
    t.push_back(matrix(b + "attn_output.weight", embd, embd));
    t.push_back(vec(b + "ffn_norm.weight", embd, 0));
    t.push_back(matrix(b + "ffn_gate.weight", embd, p.n_ff));
    t.push_back(matrix(b + "ffn_up.weight", embd, p.n_ff));
    t.push_back(matrix(b + "ffn_down.weight", p.n_ff, embd));
  }
  t.push_back(vec("output_norm.weight", embd, 0));
  if (!p.tied_embeddings) t.push_back(matrix("output.weight", embd, p.n_vocab));
  return t;
}

Status build_synth_model(const SynthOptions& options, GgufWriter& w) {
  Expected<ModelPreset> resolved = resolve_preset(options);
  if (!resolved.ok()) return resolved.status();
  const ModelPreset& p = *resolved;
  const QuantTarget& target = options.type;
  if (!is_supported_target(target)) {
    return Status::Errorf("cannot write weights as {} (supported: {})", target.name(),
                          quant_target_names());
  }
  Expected<SynthVocab> vocab = make_vocab(p.vocab, p.chat, p.n_vocab);
  if (!vocab.ok()) return Status::Errorf("preset '{}': {}", p.name, vocab.status().message());

  const std::string& a = p.arch;
  w.set("general.architecture", GgufValue::of_string(a));
  w.set("general.name", GgufValue::of_string(p.name + " (synthetic random weights)"));
  w.set("general.description",
        GgufValue::of_string(fmt::format(
            "Random weights with the shape of {}, made by tenbin synth (seed {}, {} layers). It "
            "generates meaningless text.",
            p.source, options.seed, p.n_layer)));
  w.set("general.file_type", GgufValue::of_u32(target.file_type()));
  if (traits(target.base).block_elems > 1) {
    w.set("general.quantization_version", GgufValue::of_u32(kGgmlQuantizationVersion));
  }
  w.set(a + ".vocab_size", u32(p.n_vocab));
  w.set(a + ".context_length", u32(p.n_ctx));
  w.set(a + ".embedding_length", u32(p.n_embd));
  w.set(a + ".block_count", u32(p.n_layer));
  w.set(a + ".feed_forward_length", u32(p.n_ff));
  w.set(a + ".rope.dimension_count", u32(p.head_dim()));
  w.set(a + ".attention.head_count", u32(p.n_head));
  w.set(a + ".attention.head_count_kv", u32(p.n_head_kv));
  w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::of_f32(static_cast<float>(p.rms_eps)));
  w.set(a + ".rope.freq_base", GgufValue::of_f32(static_cast<float>(p.rope_base)));
  add_vocab_metadata(*vocab, w);

  // Output rows of control, byte, unknown and padding tokens are zero (untied models only), so
  // greedy decoding of the random model always yields printable text.
  auto zero_rows = std::make_shared<std::vector<bool>>();
  for (int32_t tt : vocab->token_types) zero_rows->push_back(tt != kTokenNormal);

  const int threads = resolve_threads(options.threads);
  for (const TensorSpec& spec : model_tensors(p, target)) {
    const int64_t cols = spec.dims[0];
    int64_t rows = 1;
    for (size_t d = 1; d < spec.dims.size(); ++d) rows *= spec.dims[d];
    const uint64_t tensor_seed = options.seed ^ fnv1a(spec.name);
    const float stddev = spec.stddev;
    const DType dt = spec.type;
    const bool output = spec.name == "output.weight";
    RowStreamOptions ro;
    ro.rows = rows;
    ro.out_row_bytes = *row_bytes(dt, cols);
    ro.threads = threads;
    GgufProducer producer = [=](const GgufSink& sink) {
      auto row_fn = [&](int64_t r, uint8_t* out, std::vector<float>& scratch) -> Status {
        scratch.resize(static_cast<size_t>(cols));
        if (stddev == 0) {
          std::fill(scratch.begin(), scratch.end(), 1.0f);
        } else if (output && static_cast<size_t>(r) < zero_rows->size() && (*zero_rows)[r]) {
          std::fill(scratch.begin(), scratch.end(), 0.0f);
        } else {
          uint64_t s = tensor_seed + static_cast<uint64_t>(r) * 0x9E3779B97F4A7C15ull;
          fill_random(splitmix64(s), stddev, scratch.data(), cols);
        }
        return kernels::quantize_row(dt, scratch.data(), out, cols);
      };
      return stream_rows(ro, row_fn, sink);
    };
    TENBIN_RETURN_IF_ERROR(w.add_tensor(spec.name, dt, spec.dims, std::move(producer)));
  }
  return Status::Ok();
}

Expected<SynthSummary> synth_model(const SynthOptions& options, const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  GgufWriter writer;
  TENBIN_RETURN_IF_ERROR(build_synth_model(options, writer));
  TENBIN_RETURN_IF_ERROR(writer.write(path));
  SynthSummary s;
  s.name = writer.find("general.name")->str;
  s.n_tensors = writer.tensor_count();
  for (size_t i = 0; i < writer.tensor_count(); ++i) {
    int64_t n = 1;
    for (int64_t d : writer.tensor_info(i).dims) n *= d;
    s.n_params += n;
  }
  std::error_code ec;
  s.file_bytes = std::filesystem::file_size(path, ec);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace tenbin::synth
