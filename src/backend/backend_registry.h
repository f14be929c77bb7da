// Opens the backend a `--device` flag names: "cpu" (always there), "cuda" or "cuda:N" (the
// CUDA plugin libtenbin_cuda.so, loaded with dlopen only when asked for, so the binary runs on
// machines without a GPU, a driver or the CUDA libraries). Errors say what is missing.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "util/status.h"

namespace tenbin::backend {

struct DeviceSpec {
  enum class Kind { kCpu, kCuda };
  Kind kind = Kind::kCpu;
  int index = 0;             // cuda:N
  std::string text() const;  // "cpu", "cuda:0"
};

// "cpu", "cuda" (= cuda:0) or "cuda:N"; an error naming the accepted forms otherwise.
Expected<DeviceSpec> parse_device(std::string_view text);

// The backend for `spec`. For CUDA: finds libtenbin_cuda.so next to the executable (or in
// TENBIN_CUDA_PLUGIN, a full path), checks its ABI version and creates the backend on device N;
// each failure (plugin not built, CUDA runtime or driver missing, no such device) has its own
// message.
Expected<std::unique_ptr<Backend>> open_backend(const DeviceSpec& spec);

}  // namespace tenbin::backend
