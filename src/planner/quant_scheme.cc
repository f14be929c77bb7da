#include "planner/quant_scheme.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include "planner/model_spec.h"

namespace tenbin::planner {
namespace {

struct Scheme {
  std::string name;
  DType base;          // the type of most matrices
  bool more_bits_mix;  // q4_k_m / q5_k_m: some attn_v and ffn_down tensors in q6_K
};

const std::vector<Scheme>& schemes() {
  static const std::vector<Scheme> kSchemes = {
      {"f32", DType::kF32, false},   {"f16", DType::kF16, false},    {"bf16", DType::kBF16, false},
      {"q8_0", DType::kQ8_0, false}, {"q6_k", DType::kQ6_K, false},  {"q5_0", DType::kQ5_0, false},
      {"q4_0", DType::kQ4_0, false}, {"q5_k_m", DType::kQ5_K, true}, {"q4_k_m", DType::kQ4_K, true},
  };
  return kSchemes;
}

const Scheme* find_scheme(const std::string& name) {
  for (const Scheme& s : schemes()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The block index of "blk.N.xxx", or nullopt.
std::optional<int64_t> layer_of(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return std::nullopt;
  return std::strtoll(name.c_str() + 4, nullptr, 10);
}

// llama.cpp's rule for which layers of a *_K_M file keep more bits: the first and last eighth,
// and every third layer in between.
bool use_more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

bool is_k_quant(DType t) {
  return t == DType::kQ2_K || t == DType::kQ3_K || t == DType::kQ4_K || t == DType::kQ5_K ||
         t == DType::kQ6_K;
}

// The 32-element-block type llama.cpp's quantizer uses when a row does not split into 256s.
DType k_quant_fallback(DType t) {
  switch (t) {
    case DType::kQ4_K:
      return DType::kQ5_0;
    case DType::kQ5_K:
      return DType::kQ5_1;
    case DType::kQ6_K:
      return DType::kQ8_0;
    default:
      return DType::kQ4_0;
  }
}

bool is_float(DType t) {
  return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16;
}

}  // namespace

const std::vector<std::string>& quant_scheme_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> out;
    for (const Scheme& s : schemes()) out.push_back(s.name);
    return out;
  }();
  return kNames;
}

bool is_quant_scheme(const std::string& name) {
  return find_scheme(name) != nullptr;
}

double bits_per_weight(DType type) {
  const DTypeTraits& t = traits(type);
  return 8.0 * static_cast<double>(t.block_bytes) / static_cast<double>(t.block_elems);
}

DType tensor_type(const std::string& scheme_name, const WeightTensor& t, int64_t n_layer) {
  if (t.rows <= 1) return DType::kF32;  // norms and biases
  if (t.name == "position_embd.weight" || t.name == "token_types.weight") {
    return t.stored.value_or(DType::kF32);  // small tables converters keep in f32
  }
  const Scheme* s = find_scheme(scheme_name);
  if (s == nullptr) return t.stored.value_or(DType::kF16);
  DType type = s->base;
  if (!is_float(type)) {
    const std::optional<int64_t> layer = layer_of(t.name);
    if (t.name == "output.weight" && type != DType::kQ8_0) {
      type = DType::kQ6_K;
    } else if (s->more_bits_mix && layer &&
               (ends_with(t.name, ".attn_v.weight") || ends_with(t.name, ".ffn_down.weight")) &&
               use_more_bits(*layer, n_layer)) {
      type = DType::kQ6_K;
    }
  }
  if (is_k_quant(type) && t.cols % traits(type).block_elems != 0) type = k_quant_fallback(type);
  if (t.cols % traits(type).block_elems != 0) type = DType::kF16;
  return type;
}

bool integer_scheme(const std::string& scheme) {
  if (const Scheme* s = find_scheme(scheme)) return !is_float(s->base);
  const std::optional<DType> type = dtype_from_name(scheme);
  return type && !is_float(*type);
}

std::string kernel_type(const std::string& scheme) {
  const Scheme* s = find_scheme(scheme);
  std::string name = s != nullptr ? std::string(dtype_name(s->base)) : scheme;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace tenbin::planner
