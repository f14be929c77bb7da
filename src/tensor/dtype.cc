#include "tensor/dtype.h"

#include <array>
#include <cctype>

namespace tenbin {
namespace {

constexpr std::array<DTypeTraits, 15> kTraits = {{
    {DType::kF32, "f32", 1, 4},
    {DType::kF16, "f16", 1, 2},
    {DType::kQ4_0, "q4_0", 32, 18},
    {DType::kQ4_1, "q4_1", 32, 20},
    {DType::kQ5_0, "q5_0", 32, 22},
    {DType::kQ5_1, "q5_1", 32, 24},
    {DType::kQ8_0, "q8_0", 32, 34},
    {DType::kQ8_1, "q8_1", 32, 36},
    {DType::kQ2_K, "q2_K", 256, 84},
    {DType::kQ3_K, "q3_K", 256, 110},
    {DType::kQ4_K, "q4_K", 256, 144},
    {DType::kQ5_K, "q5_K", 256, 176},
    {DType::kQ6_K, "q6_K", 256, 210},
    {DType::kQ8_K, "q8_K", 256, 292},
    {DType::kBF16, "bf16", 1, 2},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<DTypeTraits> dtype_traits(uint32_t raw_type) {
  for (const auto& t : kTraits) {
    if (static_cast<uint32_t>(t.type) == raw_type) return t;
  }
  return std::nullopt;
}

const DTypeTraits& traits(DType type) {
  for (const auto& t : kTraits) {
    if (t.type == type) return t;
  }
  return kTraits[0];  // unreachable for valid enum values
}

std::string_view dtype_name(DType type) {
  return traits(type).name;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& t : kTraits) {
    if (iequals(t.name, name)) return t.type;
  }
  return std::nullopt;
}

std::optional<int64_t> row_bytes(DType type, int64_t n) {
  const DTypeTraits& t = traits(type);
  if (n < 0 || n % t.block_elems != 0) return std::nullopt;
  int64_t bytes = 0;
  if (__builtin_mul_overflow(n / t.block_elems, t.block_bytes, &bytes)) return std::nullopt;
  return bytes;
}

}  // namespace tenbin
