// A generation request as the scheduler sees it (SequenceRequest) and its state while queued or
// running (SequenceState): tokens known so far (prompt then generated) against tokens whose K/V
// is computed. The scheduler closes that gap a budget of tokens per step, so chunked prefill,
// prefix-cache hits and recompute after preemption need no special modes.
// Thread-safety: none; owned by the scheduler on the engine thread.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "engine/kv_blocks/block_pool.h"

namespace tenbin {

enum class FinishReason {
  kNone,       // still running
  kLength,     // max_tokens (or the context) reached
  kStop,       // EOS / stop string (flagged by the caller) or a stop token id
  kCancelled,  // cancel() (client went away)
  kError,      // could not be served (message in the event)
};
const char* to_string(FinishReason reason);

struct SequenceRequest {
  int64_t id = 0;  // unique among unfinished sequences
  std::vector<int32_t> prompt;
  int32_t max_tokens = 16;  // generated tokens, at least 1
  int32_t priority = 0;     // lower is served first (as vLLM)
  std::vector<int32_t> stop_token_ids;
};

struct SequenceState {
  enum class Phase { kWaiting, kRunning };

  int64_t id = 0;
  int32_t priority = 0;
  int32_t max_tokens = 0;
  uint64_t arrival = 0;  // admission order; kept across preemptions
  int64_t num_prompt_tokens = 0;
  std::vector<int32_t> tokens;  // prompt then generated
  std::vector<int32_t> stop_token_ids;
  int64_t num_computed_tokens = 0;  // leading tokens whose K/V is (being) written
  int64_t num_cached_tokens = 0;    // prefix-cache hit at first admission (usage reports)
  int32_t num_preemptions = 0;
  Phase phase = Phase::kWaiting;
  uint64_t scheduled_step = 0;  // last step that scheduled it (0 = never)
  SeqBlocks blocks;

  int64_t num_tokens() const { return static_cast<int64_t>(tokens.size()); }
  int64_t num_output_tokens() const { return num_tokens() - num_prompt_tokens; }
  int64_t num_uncomputed() const { return num_tokens() - num_computed_tokens; }
};

// Service order: priority ascending, then arrival ascending. Strict (arrivals are unique).
struct ServiceOrder {
  bool operator()(const SequenceState* a, const SequenceState* b) const {
    return std::tie(a->priority, a->arrival) < std::tie(b->priority, b->arrival);
  }
};

}  // namespace tenbin
