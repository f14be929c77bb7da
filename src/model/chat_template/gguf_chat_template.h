// Picks a model's chat template from its GGUF metadata: `tokenizer.chat_template`, else the
// built-in ChatML fallback; plus the BOS/EOS token texts the template refers to (looked up
// in `tokenizer.ggml.tokens` by `tokenizer.ggml.bos_token_id` / `eos_token_id`).
// Used by `tenbin serve` once per loaded model.
#pragma once

#include <string>

#include "model/chat_template/chat_template.h"
#include "util/status.h"

namespace tenbin {

class GgufFile;

struct ModelChatTemplate {
  ChatTemplate chat_template;
  std::string bos_token;  // "" when the model has none
  std::string eos_token;
  bool is_fallback = false;  // true when the file had no template and ChatML is used
};

// Fails when the file's template does not parse (the message names the file and line:col);
// callers may then choose ChatTemplate::chatml() explicitly.
Expected<ModelChatTemplate> chat_template_from_gguf(const GgufFile& file);

}  // namespace tenbin
