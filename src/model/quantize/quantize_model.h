// Converts the weight matrices of a GGUF model to another type or mix (q8_0, q4_0, q4_k_m, q4_k,
// q5_k_m, q5_k, q6_k, f16, bf16, f32; see quant_target.h), streaming tensor by tensor from the memory-mapped
// input to the output file; what `tenbin quantize` runs. Rules: only 2-D+ "*.weight" tensors
// that are not norms are converted; the rest are copied unchanged. See plan_tensor() for
// fallbacks and already-quantized inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/gguf/gguf_file.h"
#include "model/quantize/quant_target.h"
#include "tensor/dtype.h"
#include "util/status.h"

namespace tenbin {

// The single types of the 32-element and float families: q8_0, q4_0, f16, bf16, f32. The
// commands parse their type with parse_quant_target (quant_target.h), which also accepts the K
// types and the q4_k_m / q5_k_m mixes.
Expected<DType> parse_target_type(std::string_view name);
std::string target_type_names();  // "q8_0, q4_0, f16, bf16, f32"
// llama.cpp's `general.file_type` id for a model whose weights are mostly `type`
// (LLAMA_FTYPE_ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_Q4_0 = 2, MOSTLY_Q8_0 = 7, MOSTLY_BF16 = 32,
// MOSTLY_Q6_K = 18); QuantTarget::file_type() covers the K mixes.
uint32_t llama_file_type(DType type);
// `general.quantization_version` that llama.cpp writes beside block-quantized weights.
inline constexpr uint32_t kGgmlQuantizationVersion = 2;

// What happens to one tensor.
struct TensorPlan {
  DType to = DType::kF32;
  bool convert = false;  // false: bytes copied unchanged
  std::string note;      // why a weight was not given the target type ("" otherwise)
};

// The rule, per tensor:
// - not a weight matrix (1-D, norms, biases, names not ending in ".weight"): copied unchanged;
// - f32/f16/bf16 weight: converted to the target; when its row length is not a multiple of the
//   target's block size, f32 falls back to f16 and f16/bf16 stay as they are (with a note);
// - already-quantized weight: copied unchanged when it already has the target type, refused
//   otherwise (re-quantizing compounds the error; start from an f16/f32 file instead).
Expected<TensorPlan> plan_tensor(const GgufTensor& tensor, DType target);

struct QuantizeOptions {
  std::string input_path;
  std::string output_path;
  QuantTarget target = DType::kQ8_0;  // per-tensor types from target.type_for()
  int threads = 0;                    // 0: all hardware threads
};

struct TensorReport {
  std::string name;
  std::vector<int64_t> dims;
  DType from = DType::kF32;
  DType to = DType::kF32;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  double seconds = 0;
  std::string note;
};

struct QuantizeReport {
  std::vector<TensorReport> tensors;
  uint64_t bytes_before = 0;  // tensor data only
  uint64_t bytes_after = 0;
  double seconds = 0;
};

// Reads options.input_path, writes options.output_path. `on_tensor` (optional) is called as
// each tensor is written, for progress output.
Expected<QuantizeReport> quantize_model(
    const QuantizeOptions& options,
    const std::function<void(const TensorReport&)>& on_tensor = nullptr);

}  // namespace tenbin
