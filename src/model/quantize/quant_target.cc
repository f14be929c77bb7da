#include "model/quantize/quant_target.h"

#include <array>
#include <cctype>
#include <charconv>

#include "model/quantize/quantize_model.h"

namespace tenbin {
namespace {

struct NamedTarget {
  std::string_view name;
  QuantTarget target;
};

const std::array<NamedTarget, 10>& named_targets() {
  static const std::array<NamedTarget, 10> kNamed = {{
      {"q8_0", QuantTarget(DType::kQ8_0)},
      {"q4_0", QuantTarget(DType::kQ4_0)},
      {"q4_k_m", QuantTarget(DType::kQ4_K, WeightMix::kKQuantMedium)},
      {"q4_k", QuantTarget(DType::kQ4_K)},
      {"q5_k_m", QuantTarget(DType::kQ5_K, WeightMix::kKQuantMedium)},
      {"q5_k", QuantTarget(DType::kQ5_K)},
      {"q6_k", QuantTarget(DType::kQ6_K)},
      {"f16", QuantTarget(DType::kF16)},
      {"bf16", QuantTarget(DType::kBF16)},
      {"f32", QuantTarget(DType::kF32)},
  }};
  return kNamed;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// llama.cpp's rule for the layers whose attn_v/ffn_down get more bits in its *_M mixes: the
// first and last eighth, and every third layer in between.
bool wants_more_bits(int64_t layer, int64_t n_layers) {
  const int64_t eighth = n_layers / 8;
  return layer < eighth || layer >= 7 * n_layers / 8 || (layer - eighth) % 3 == 2;
}

}  // namespace

DType QuantTarget::type_for(std::string_view tensor_name, int64_t n_layers) const {
  if (mix == WeightMix::kUniform) return base;
  if (tensor_name == "output.weight") return DType::kQ6_K;
  const int64_t layer = block_index(tensor_name);
  if (layer >= 0) {
    const std::string_view rest = tensor_name.substr(tensor_name.find('.', 4) + 1);
    if ((rest == "attn_v.weight" || rest == "ffn_down.weight") &&
        wants_more_bits(layer, n_layers)) {
      return DType::kQ6_K;
    }
  }
  return base;
}

uint32_t QuantTarget::file_type() const {
  // llama_ftype: MOSTLY_Q4_K_S = 14, MOSTLY_Q4_K_M = 15, MOSTLY_Q5_K_S = 16, MOSTLY_Q5_K_M = 17,
  // MOSTLY_Q6_K = 18. A uniform q4_K (q5_K) file is closest to Q4_K_S (Q5_K_S): llama.cpp's
  // *_S mixes keep a few tensors at higher precision.
  const bool medium = mix == WeightMix::kKQuantMedium;
  if (base == DType::kQ4_K) return medium ? 15 : 14;
  if (base == DType::kQ5_K) return medium ? 17 : 16;
  if (base == DType::kQ6_K) return 18;
  return llama_file_type(base);
}

std::string QuantTarget::name() const {
  for (const NamedTarget& t : named_targets()) {
    if (t.target == *this) return std::string(t.name);
  }
  return std::string(dtype_name(base));
}

Expected<QuantTarget> parse_quant_target(std::string_view name) {
  for (const NamedTarget& t : named_targets()) {
    if (iequals(t.name, name)) return t.target;
  }
  return Status::Errorf("unknown or unsupported type '{}' (supported: {})", name,
                        quant_target_names());
}

std::string quant_target_names() {
  std::string out;
  for (const NamedTarget& t : named_targets()) {
    if (!out.empty()) out += ", ";
    out += t.name;
  }
  return out;
}

bool is_supported_target(const QuantTarget& target) {
  for (const NamedTarget& t : named_targets()) {
    if (t.target == target) return true;
  }
  return false;
}

int64_t block_index(std::string_view tensor_name) {
  if (!starts_with(tensor_name, "blk.")) return -1;
  const std::string_view rest = tensor_name.substr(4);
  int64_t index = -1;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), index);
  if (ec != std::errc() || end == rest.data() || end == rest.data() + rest.size() || *end != '.') {
    return -1;
  }
  return index;
}

}  // namespace tenbin
