// Helpers for chat-template tests: render a template string with JSON variables, and check
// that an error message contains a phrase.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/chat_template/chat_template.h"

namespace tenbin::test {

inline ::testing::AssertionResult HasText(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "'" << haystack << "' does not contain '" << needle << "'";
}

// Parse + render; the result is the output, or "ERROR: " + the message.
inline std::string render_or_error(const std::string& source, const std::string& json_vars = "{}",
                                   const ChatTemplateLimits& limits = {}) {
  Expected<ChatTemplate> t = ChatTemplate::parse(source);
  if (!t.ok()) return "ERROR: " + t.status().message();
  Expected<std::string> out = t->render_json(nlohmann::ordered_json::parse(json_vars), limits);
  return out.ok() ? *out : "ERROR: " + out.status().message();
}

}  // namespace tenbin::test
