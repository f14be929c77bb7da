// Tensor element types as GGUF stores them (ids are the on-disk `ggml_type` values) and their
// block layout: how many elements one block holds and how many bytes it takes. Quantized
// formats are kept as stored; row sizes are computed here with overflow checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tenbin {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

struct DTypeTraits {
  DType type;
  std::string_view name;  // as llama.cpp and GGUF tools print it: "q4_K", "f16"
  int64_t block_elems;    // elements per block (1 for plain floats)
  int64_t block_bytes;    // bytes per block
};

// Traits of a supported type, or nullopt for an id this build cannot compute with
// (I-quants, ternary formats, unknown ids).
std::optional<DTypeTraits> dtype_traits(uint32_t raw_type);
const DTypeTraits& traits(DType type);  // `type` must be supported
std::string_view dtype_name(DType type);
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive

// Bytes of a row of `n` elements; nullopt when n is negative, not a multiple of the block size,
// or the byte count does not fit in int64_t.
std::optional<int64_t> row_bytes(DType type, int64_t n);

}  // namespace tenbin
