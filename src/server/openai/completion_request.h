// POST /v1/completions request body -> CompletionRequest. The prompt may be a string, an
// array of strings, an array of token ids or an array of token-id arrays. Batches are
// supported as OpenAI does: prompt i, sample j is choice index i * n + j.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/openai/generation_params.h"
#include "server/openai/request_error.h"

namespace tenbin::server::openai {

inline constexpr int kMaxBatchPrompts = 16;                 // prompts in one request
inline constexpr int kMaxSequencesPerRequest = 64;          // prompts x n
inline constexpr int32_t kDefaultCompletionMaxTokens = 16;  // as OpenAI

struct CompletionPrompt {
  bool is_tokens = false;  // true: `tokens` holds the prompt; false: `text` (to tokenize)
  std::string text;
  std::vector<int32_t> tokens;  // non-negative ids; the handler checks them against the vocab
};

struct CompletionRequest {
  GenerationParams params;                // params.max_tokens is always set (default 16)
  std::vector<CompletionPrompt> prompts;  // at least one
  bool echo = false;                      // prepend the prompt to each choice's text
};

ParseResult<CompletionRequest> parse_completion_request(std::string_view body);

}  // namespace tenbin::server::openai
