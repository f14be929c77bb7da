// Template and special-token texts from GGUF metadata; see gguf_chat_template.h.
#include "model/chat_template/gguf_chat_template.h"

#include <optional>
#include <vector>

#include "model/gguf/gguf_file.h"

namespace tenbin {
namespace {

std::string token_text(const GgufFile& file, const std::optional<std::vector<std::string>>& tokens,
                       const char* key) {
  std::optional<int64_t> id = file.get_int(key);
  if (!id || !tokens || *id < 0 || *id >= static_cast<int64_t>(tokens->size())) return "";
  return (*tokens)[static_cast<size_t>(*id)];
}

}  // namespace

Expected<ModelChatTemplate> chat_template_from_gguf(const GgufFile& file) {
  std::optional<std::vector<std::string>> tokens = file.get_string_array("tokenizer.ggml.tokens");
  std::string bos = token_text(file, tokens, "tokenizer.ggml.bos_token_id");
  std::string eos = token_text(file, tokens, "tokenizer.ggml.eos_token_id");
  std::optional<std::string> source = file.get_string("tokenizer.chat_template");
  if (!source || source->empty()) {
    return ModelChatTemplate{ChatTemplate::chatml(), std::move(bos), std::move(eos), true};
  }
  Expected<ChatTemplate> parsed = ChatTemplate::parse(*source);
  if (!parsed.ok()) {
    return Status::Errorf("{}: tokenizer.chat_template: {}", file.path(),
                          parsed.status().message());
  }
  return ModelChatTemplate{std::move(*parsed), std::move(bos), std::move(eos), false};
}

}  // namespace tenbin
