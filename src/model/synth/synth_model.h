// Builds a random-weight GGUF model with the exact tensor shapes, metadata and tokenizer layout
// of a real one (see presets.h); what `tenbin synth` runs. Weights come from a fixed-seed PRNG,
// scaled by 1/sqrt(fan_in) so activations stay in a sane range, and are generated, quantized and
// streamed to disk chunk by chunk: a 7B model never sits in memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf/gguf_writer.h"
#include "model/quantize/quant_target.h"
#include "model/synth/presets.h"
#include "tensor/dtype.h"
#include "util/status.h"

namespace tenbin::synth {

struct SynthOptions {
  std::string preset;               // a name from model_presets()
  QuantTarget type = DType::kQ4_0;  // weight matrices (a type or a mix such as q4_k_m); norms
                                    // and biases are always f32
  uint64_t seed = 1;                // same seed, same file
  int64_t layers = 0;               // > 0 overrides the preset's block count (quick demos, tests)
  int threads = 0;                  // 0: all hardware threads
};

// One tensor of the model and how its values are drawn.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order: ne[0] is the input (contiguous) dimension
  DType type = DType::kF32;
  float stddev = 0;  // 0: all ones (norm weights)
};

// The preset with options applied (block count override).
Expected<ModelPreset> resolve_preset(const SynthOptions& options);

// The tensors of `preset`, in file order, with weight matrices of the type `target` gives each
// (f16 where a row length is not a multiple of that type's block size).
std::vector<TensorSpec> model_tensors(const ModelPreset& preset, const QuantTarget& target);

// Adds metadata, tokenizer and tensors (generated during writer.write()) to `writer`.
Status build_synth_model(const SynthOptions& options, GgufWriter& writer);

struct SynthSummary {
  std::string name;  // general.name
  int64_t n_params = 0;
  size_t n_tensors = 0;
  uint64_t file_bytes = 0;
  double seconds = 0;
};

// Builds the model and writes it to `path`.
Expected<SynthSummary> synth_model(const SynthOptions& options, const std::string& path);

}  // namespace tenbin::synth
