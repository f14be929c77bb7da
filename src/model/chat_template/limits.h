// Bounds on one render of a chat template, so a hostile or broken template (from a
// downloaded GGUF file) cannot exhaust memory or spin forever. Exceeding one fails the
// render with an error naming the limit and the template position.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tenbin {

struct ChatTemplateLimits {
  size_t max_output_bytes = size_t{4} << 20;  // also caps any single string or list built
  int64_t max_loop_iterations = 100000;       // over all loops of one render, and range() size
  int max_call_depth = 32;                    // nested macro calls
};

}  // namespace tenbin
