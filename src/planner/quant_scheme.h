// Quantization schemes the planner can price: which GGUF type each weight tensor gets under a
// scheme ("q4_k_m" keeps some tensors at 6 bits, as llama.cpp's quantizer does), and the
// resulting bits per weight, computed from the block sizes in tensor/dtype.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace tenbin::planner {

struct WeightTensor;

// Known scheme names: f32, f16, bf16, q8_0, q6_k, q5_0, q4_0, q4_k_m, q5_k_m.
const std::vector<std::string>& quant_scheme_names();
bool is_quant_scheme(const std::string& name);

// Bits per weight of a GGUF type, scales included: block bytes x 8 / block elements.
double bits_per_weight(DType type);

// The type a tensor takes under `scheme` in a model with `n_layer` blocks. Vectors (norms,
// biases) stay f32; the output matrix gets q6_K under 4/5-bit schemes; q4_k_m/q5_k_m give
// attn_v and ffn_down q6_K in the first and last eighth of the layers and every third layer
// between; a K-quant falls back to a 32-block type when a row is not a multiple of 256.
DType tensor_type(const std::string& scheme, const WeightTensor& t, int64_t n_layer);

// True when matmuls of this scheme (or GGUF type name, "q4_K") run on integer dot products on
// CPUs (quantized types).
bool integer_scheme(const std::string& scheme);

// The GGUF type of most of a scheme's weight matrices, lower case ("q4_k_m" -> "q4_k"; a type
// name passes through lower-cased, "q4_K" -> "q4_k"): whose kernels set the speed, and the key
// of per-type efficiency factors.
std::string kernel_type(const std::string& scheme);

}  // namespace tenbin::planner
