#include "cli/kv_type_option.h"

namespace tenbin::cli {

void add_kv_type_option(CLI::App* cmd, std::string* kv_type) {
  cmd->add_option("--kv-type,--kv-cache-dtype", *kv_type,
                  "KV cache type: f16, f32, bf16 (f16's memory; on the CPU attention in bf16 pair "
                  "products, twice the multiply rate on CPUs with AVX512_BF16), or q8_0 (int8 "
                  "with a scale per 32 values: half the memory of f16, so twice the tokens in the "
                  "same budget)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f16", "f32", "bf16", "q8_0"}));
}

DType kv_type_from_option(const std::string& kv_type) {
  return dtype_from_name(kv_type).value_or(DType::kF16);
}

}  // namespace tenbin::cli
