// The prompts a benchmark sends: random text of controlled length (like vLLM's random
// dataset), a prompts file (.jsonl, one {"prompt": ...} or {"messages": [...]} per line) or a
// ShareGPT-style conversation file (.json). Token counts of prompts are estimates (bench has
// no tokenizer); the server's `usage` gives the real ones when it reports them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_config.h"
#include "util/status.h"

namespace tenbin::bench {

struct BenchPrompt {
  std::string text;           // the prompt (completions), or the user message (chat)
  nlohmann::json messages;    // chat messages when the file gave them; null otherwise
  int64_t prompt_tokens = 0;  // estimated
  int64_t output_tokens = 0;  // max_tokens to ask for
};

// Exactly `count` prompts, deterministic for a seed (files are shuffled, then cycled when
// shorter than `count`).
Expected<std::vector<BenchPrompt>> load_dataset(const DatasetOptions& options, int64_t count,
                                                uint64_t seed);

// Rough token count of English text, used when a file gives no lengths: ~4 characters/token.
int64_t estimate_tokens(const std::string& text);

}  // namespace tenbin::bench
