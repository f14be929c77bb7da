// Chat templates: turn an OpenAI-style message list into the prompt text a model was trained
// on, by running the Jinja template stored in GGUF `tokenizer.chat_template` (as Hugging Face
// tokenizers do) with our own interpreter of the Jinja subset those templates use.
// Parse once, render many times: a ChatTemplate is immutable and render() is safe from any
// thread. Every failure (syntax, unsupported construct, raise_exception, limits) is a Status.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/chat_template/limits.h"
#include "util/status.h"

namespace tenbin {

namespace jinja {
struct Stmt;
}  // namespace jinja

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool", ...
  std::string content;
};

struct ChatTemplateInputs {
  std::vector<ChatMessage> messages;
  bool add_generation_prompt = true;
  std::string bos_token;
  std::string eos_token;
  std::map<std::string, std::string> extra;  // more string variables (e.g. date_string)
  ChatTemplateLimits limits;
};

class ChatTemplate {
 public:
  // Errors name the problem and its line:col in `source`.
  static Expected<ChatTemplate> parse(std::string_view source);
  // The built-in fallback for models without a template: ChatML (<|im_start|>role ... <|im_end|>).
  static ChatTemplate chatml();
  static std::string_view chatml_source();

  Expected<std::string> render(const ChatTemplateInputs& inputs) const;
  // Full control over the variables: a JSON object whose members become template variables
  // (messages with tool_calls, tools, ...). Fails when `variables` is not an object.
  // ordered_json keeps object members in their given order, which tojson output shows.
  Expected<std::string> render_json(const nlohmann::json& variables,
                                    const ChatTemplateLimits& limits = {}) const;
  Expected<std::string> render_json(const nlohmann::ordered_json& variables,
                                    const ChatTemplateLimits& limits = {}) const;

  const std::string& source() const { return *source_; }

 private:
  ChatTemplate() = default;
  template <class Json>
  Expected<std::string> render_any_json(const Json& variables,
                                        const ChatTemplateLimits& limits) const;

  std::shared_ptr<const std::string> source_;
  std::shared_ptr<const std::vector<std::unique_ptr<jinja::Stmt>>> program_;
};

}  // namespace tenbin
