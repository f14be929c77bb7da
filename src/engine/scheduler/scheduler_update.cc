// Scheduler::update(): folds the model runner's sampled tokens back into sequence state.
#include <algorithm>
#include <unordered_map>

#include "engine/scheduler/scheduler.h"

namespace tenbin {

Status Scheduler::update(const RunnerOutput& output, std::vector<SeqEvent>* events) {
  std::unordered_map<int64_t, const SampledToken*> sampled;
  for (const SampledToken& t : output.tokens) sampled[t.seq_id] = &t;
  std::vector<InFlight> in_flight = std::move(in_flight_);
  in_flight_.clear();
  Status status;
  for (const InFlight& f : in_flight) {
    const auto it = seqs_.find(f.seq_id);
    if (it == seqs_.end()) continue;
    SequenceState* seq = it->second.get();
    // The forward pass has written these tokens' K/V: their full blocks may now be shared.
    pool_.cache_computed_blocks(seq->blocks, seq->tokens, seq->num_computed_tokens);
    if (!f.want_logits) continue;
    const auto s = sampled.find(f.seq_id);
    if (s == sampled.end()) {
      status = Status::Errorf("model runner returned no token for sequence {}", f.seq_id);
      events->push_back({f.seq_id, -1, FinishReason::kError, status.message()});
      release(seq);
      continue;
    }
    seq->tokens.push_back(s->second->token);
    const FinishReason reason = finish_reason(*seq, s->second->stop);
    events->push_back({f.seq_id, s->second->token, reason, {}});
    if (reason != FinishReason::kNone) release(seq);
  }
  return status;
}

FinishReason Scheduler::finish_reason(const SequenceState& seq, bool caller_stop) const {
  if (caller_stop) return FinishReason::kStop;
  if (std::ranges::find(seq.stop_token_ids, seq.tokens.back()) != seq.stop_token_ids.end()) {
    return FinishReason::kStop;
  }
  if (seq.num_output_tokens() >= seq.max_tokens || seq.num_tokens() >= opt_.max_context) {
    return FinishReason::kLength;
  }
  return FinishReason::kNone;
}

}  // namespace tenbin
