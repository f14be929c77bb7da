// The --kv-type option of the commands that run a model (run, serve, perf): the KV cache's
// element type, f16 (default), f32, bf16 (faster attention arithmetic) or q8_0 (half f16's
// memory), the last two where the device takes them.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "tensor/dtype.h"

namespace tenbin::cli {

void add_kv_type_option(CLI::App* cmd, std::string* kv_type);

// The DType the option names (the option's check has already refused anything else).
DType kv_type_from_option(const std::string& kv_type);

}  // namespace tenbin::cli
