// POST /v1/chat/completions request body -> ChatRequest. Messages keep OpenAI's roles except
// "developer", which becomes "system" (chat templates know only system). Array content is
// flattened: the text parts joined with "\n" (as vLLM does); other part types are rejected.
#pragma once

#include <string_view>
#include <vector>

#include "model/chat_template/chat_template.h"
#include "server/openai/generation_params.h"
#include "server/openai/request_error.h"

namespace tenbin::server::openai {

struct ChatRequest {
  // params.max_tokens: max_completion_tokens, else max_tokens, else nullopt (until the context
  // ends; the handler computes the limit).
  GenerationParams params;
  std::vector<ChatMessage> messages;  // at least one; ready for ChatTemplateInputs
};

ParseResult<ChatRequest> parse_chat_request(std::string_view body);

}  // namespace tenbin::server::openai
