// Where tests find shared data (real models, tokenizer vectors, llama.cpp reference outputs)
// and the built `tenbin` binary. TENBIN_SHARED_DIR in the environment overrides the default.
#pragma once

#include <cstdlib>
#include <string>

namespace tenbin::test {

inline std::string shared_dir() {
  if (const char* env = std::getenv("TENBIN_SHARED_DIR"); env != nullptr && *env != '\0')
    return env;
  return TENBIN_SHARED_DIR_DEFAULT;
}

// A path under the shared folder, e.g. shared_path("models/stories260K.gguf").
inline std::string shared_path(const std::string& relative) {
  return shared_dir() + "/" + relative;
}

inline std::string tenbin_binary() {
  return TENBIN_BINARY;
}

}  // namespace tenbin::test
