// What `tenbin quantize` and `tenbin synth` turn weight matrices into: one type for all of them
// ("q8_0", "q4_k", ...) or a per-tensor mix ("q4_k_m", "q5_k_m"). Maps each weight tensor's name to
// its type; the row-length fallbacks stay with the callers (quantize_model.h, synth_model.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tensor/dtype.h"
#include "util/status.h"

namespace tenbin {

enum class WeightMix : uint8_t {
  kUniform,  // every weight matrix gets `base`
  // Our take on llama.cpp's Q4_K_M and Q5_K_M: output.weight Q6_K; blk.i.attn_v.weight and
  // blk.i.ffn_down.weight Q6_K on the layers i (of n) with i < n/8, i >= 7n/8 or
  // (i - n/8) % 3 == 2 (integer division), `base` on the others; every other weight matrix
  // (token_embd included) `base` (Q4_K or Q5_K).
  kKQuantMedium,
};

struct QuantTarget {
  DType base = DType::kQ4_0;  // the type of most weight matrices
  WeightMix mix = WeightMix::kUniform;

  QuantTarget() = default;
  // A plain type is a uniform target (implicit so that options can be given a DType).
  QuantTarget(DType uniform) : base(uniform) {}  // NOLINT(google-explicit-constructor)
  QuantTarget(DType base_type, WeightMix weight_mix) : base(base_type), mix(weight_mix) {}

  // The type of weight matrix `tensor_name` in a model of `n_layers` blocks.
  DType type_for(std::string_view tensor_name, int64_t n_layers) const;
  // llama.cpp's `general.file_type` id for a model quantized to this target.
  uint32_t file_type() const;
  std::string name() const;  // "q4_k_m", "q8_0", "q4_k", ...

  bool operator==(const QuantTarget&) const = default;
};

// "q8_0", "q4_0", "q4_k_m", "q4_k", "q5_k_m", "q5_k", "q6_k", "f16", "bf16", "f32"
// (case-insensitive).
Expected<QuantTarget> parse_quant_target(std::string_view name);
std::string quant_target_names();  // the accepted names, comma-separated
// Whether `target` is one the quantizers can write (the parse_quant_target ones).
bool is_supported_target(const QuantTarget& target);

// The layer index of a "blk.<i>." tensor name, or -1.
int64_t block_index(std::string_view tensor_name);

}  // namespace tenbin
