// Generates one sequence: prefill the prompt in chunks of a batch of tokens, then decode one
// token per step, streaming each new token to a callback. The single-user path behind
// `tenbin run` and the end-to-end tests; the serving engine batches many sequences instead.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/sampler.h"
#include "model/arch/llama_model.h"
#include "model/tokenizer/tokenizer.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace tenbin {

struct GenerateOptions {
  int32_t max_new_tokens = 128;
  int32_t prefill_chunk = 512;  // prompt tokens per forward pass
  int64_t n_ctx = 0;            // context length; 0 (or above the cache's slots): all slots
  bool stop_at_end_of_generation = true;
  SamplingParams sampling;
};

struct GenerateStats {
  int64_t prompt_tokens = 0;
  double prompt_seconds = 0;
  int64_t generated_tokens = 0;
  double generate_seconds = 0;  // decode steps after the first token
};

// Called for each generated token; return false to stop.
using TokenCallback = std::function<bool(int32_t token)>;

class Generator {
 public:
  Generator(LlamaModel& model, const Tokenizer& tokenizer, ThreadPool& pool)
      : model_(model), tokenizer_(tokenizer), pool_(pool) {}

  // Runs the prompt and up to max_new_tokens more within the context, the sequence owning
  // blocks 0, 1, ... of the cache (block table 0..ceil(n_ctx / block_size) - 1).
  Status generate(const std::vector<int32_t>& prompt, const GenerateOptions& options,
                  KvCache& cache, const TokenCallback& on_token, GenerateStats* stats);

 private:
  LlamaModel& model_;
  const Tokenizer& tokenizer_;
  ThreadPool& pool_;
};

}  // namespace tenbin
