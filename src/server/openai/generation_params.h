// Request fields shared by /v1/completions and /v1/chat/completions: model, sampling (with
// OpenAI's defaults, not the CLI's), stop strings, n, stream options, logprobs, priority and
// logit_bias, and the vLLM/llama.cpp extensions (top_k, min_p, repetition_penalty, ignore_eos).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/grammar/grammar.h"
#include "engine/sampler.h"
#include "server/openai/field_reader.h"

namespace tenbin::server::openai {

inline constexpr int kMaxChoices = 16;     // n
inline constexpr int kMaxStopStrings = 4;  // as OpenAI
inline constexpr int kMaxChatTopLogprobs = 20;
inline constexpr int kMaxCompletionLogprobs = 5;

struct GenerationParams {
  std::string model;
  // OpenAI defaults: temperature 1, top_p 1, top_k off, min_p 0, no penalties. `seed` is 0
  // here when the request gave none (has_seed false): the handler picks a random one. With
  // n > 1 the handler must derive a distinct seed per choice (e.g. seed + index).
  SamplingParams sampling;
  bool has_seed = false;
  std::vector<std::string> stop;  // non-empty strings, at most 4; empty ones are dropped
  // nullopt only for chat without max_tokens/max_completion_tokens: until the context ends.
  std::optional<int32_t> max_tokens;
  int n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;       // return the sampled tokens' logprobs
  int top_logprobs = 0;        // alternatives per position (chat 0..20, completions 0..5)
  bool ignore_eos = false;
  int32_t priority = 0;  // lower is served first, as vLLM
  std::string user;      // accepted, for logs only
  // The output's form (response_format json_object/json_schema, grammar, guided_*); null: free.
  std::shared_ptr<const grammar::Grammar> grammar;
};

// Reads the shared fields from the request body. Endpoint-specific fields (max_tokens,
// logprobs, prompt/messages, ...) are left to the caller, who then calls reader.finish().
GenerationParams read_generation_params(FieldReader& reader);

}  // namespace tenbin::server::openai
