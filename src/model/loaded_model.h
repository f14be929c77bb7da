// A model ready to run: the mapped GGUF file, the decoder bound to its weights and the
// tokenizer built from its metadata, kept together so their lifetimes match.
#pragma once

#include <memory>
#include <string>

#include "backend/backend_registry.h"
#include "model/arch/llama_model.h"
#include "model/gguf/gguf_file.h"
#include "model/tokenizer/tokenizer.h"
#include "util/status.h"

namespace tenbin {

struct LoadedModel {
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<LlamaModel> model;
  std::unique_ptr<Tokenizer> tokenizer;

  // Loads onto `device` (the CPU by default; "cuda:N" opens the CUDA plugin first).
  static Expected<LoadedModel> load(const std::string& path,
                                    const backend::DeviceSpec& device = {});
};

}  // namespace tenbin
