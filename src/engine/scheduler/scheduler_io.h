// The plain structs the scheduler and the model runner exchange each step (vLLM v1 style):
// SchedulerOutput in (what to run), RunnerOutput back (what was sampled), SeqEvent out to the
// requests' channels (new tokens, finishes). No behaviour here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/scheduler/sequence.h"

namespace tenbin {

// One sequence's slice of a step's flat, ragged batch.
struct ScheduledSeq {
  int64_t seq_id = 0;
  std::vector<int32_t> tokens;       // [n] tokens to run
  int64_t start_position = 0;        // tokens[i] sits at position start_position + i
  std::vector<int32_t> block_table;  // covers positions [0, start_position + n)
  bool want_logits = false;          // the chunk ends at the last known token: sample one
};

// An event for a request's channel: a new token and/or the end of the sequence.
struct SeqEvent {
  int64_t seq_id = 0;
  int32_t token = -1;  // -1: no token with this event
  FinishReason finish = FinishReason::kNone;
  std::string error;  // for kError
};

struct SchedulerOutput {
  std::vector<ScheduledSeq> seqs;  // decodes first, then prefill chunks
  std::vector<int64_t> preempted;  // sent back to the waiting queue this step
  std::vector<SeqEvent> finished;  // cancelled or failed while scheduling
  int64_t num_tokens = 0;          // sum of tokens over seqs

  bool empty() const { return seqs.empty(); }
};

struct SampledToken {
  int64_t seq_id = 0;
  int32_t token = 0;
  bool stop = false;  // the caller saw EOS or a stop string
};

// The runner's answer: one sampled token per ScheduledSeq with want_logits.
struct RunnerOutput {
  std::vector<SampledToken> tokens;
};

}  // namespace tenbin
