#include "engine/scheduler/scheduler.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace tenbin {

Status SchedulerOptions::validate() const {
  if (max_num_seqs <= 0) return Status::Errorf("max_num_seqs must be > 0 (got {})", max_num_seqs);
  if (max_batch_tokens < max_num_seqs) {
    return Status::Errorf(
        "max_batch_tokens ({}) must be >= max_num_seqs ({}): every running "
        "sequence needs a token per step",
        max_batch_tokens, max_num_seqs);
  }
  if (max_context <= 1) return Status::Errorf("max_context must be > 1 (got {})", max_context);
  return Status::Ok();
}

Scheduler::Scheduler(const SchedulerOptions& options, const BlockPoolOptions& pool_options)
    : opt_(options), pool_(pool_options) {
  assert(opt_.validate().ok());
}

Status Scheduler::add(SequenceRequest request) {
  const int64_t n_prompt = static_cast<int64_t>(request.prompt.size());
  if (seqs_.contains(request.id)) return Status::Errorf("sequence id {} is in use", request.id);
  if (n_prompt == 0) return Status::Error("the prompt is empty");
  if (request.max_tokens < 1) {
    return Status::Errorf("max_tokens must be >= 1 (got {})", request.max_tokens);
  }
  if (n_prompt + request.max_tokens > opt_.max_context) {
    return Status::Errorf("prompt ({} tokens) + max_tokens ({}) exceeds the context of {} tokens",
                          n_prompt, request.max_tokens, opt_.max_context);
  }
  // The last sampled token is never fed back, so it needs no KV slot.
  const int32_t blocks = pool_.blocks_for_tokens(n_prompt + request.max_tokens - 1);
  if (blocks > pool_.n_blocks()) {
    return Status::Errorf(
        "prompt ({} tokens) + max_tokens ({}) needs {} KV blocks; the cache "
        "holds {} blocks of {} tokens",
        n_prompt, request.max_tokens, blocks, pool_.n_blocks(), pool_.block_size());
  }
  auto seq = std::make_unique<SequenceState>();
  seq->id = request.id;
  seq->priority = request.priority;
  seq->max_tokens = request.max_tokens;
  seq->arrival = next_arrival_++;
  seq->num_prompt_tokens = n_prompt;
  seq->tokens = std::move(request.prompt);
  seq->stop_token_ids = std::move(request.stop_token_ids);
  waiting_.push(seq.get());
  seqs_.emplace(seq->id, std::move(seq));
  return Status::Ok();
}

bool Scheduler::cancel(int64_t seq_id) {
  if (!seqs_.contains(seq_id)) return false;
  cancel_requests_.push_back(seq_id);
  return true;
}

// Timeline of one step with budget 8, A decoding, B mid-prompt, C waiting (d = decode token,
// p = prompt token):   A: d | B: p p p p | C: p p p   (C's prompt continues next step)
SchedulerOutput Scheduler::step() {
  assert(in_flight_.empty() && "update() must follow each non-empty step()");
  ++step_id_;
  SchedulerOutput out;
  remove_cancelled(&out);
  StepContext ctx{TokenBudget(opt_.max_batch_tokens), {}, &out, false};
  if (opt_.prefill_first) {
    // Prompts first: running chunks, new sequences, then decode tokens in what is left.
    schedule_running(/*decodes=*/false, ctx);
    if (!ctx.preempted) admit_waiting(ctx);
    schedule_running(/*decodes=*/true, ctx);
    emit(ctx);
    return out;
  }
  schedule_running(/*decodes=*/true, ctx);   // 1. one token per decoding sequence
  schedule_running(/*decodes=*/false, ctx);  // 2. chunks of prompts already holding blocks
  // 3. new sequences, unless this step had to preempt (their blocks would only thrash).
  if (!ctx.preempted) admit_waiting(ctx);
  emit(ctx);
  return out;
}

void Scheduler::remove_cancelled(SchedulerOutput* out) {
  for (int64_t id : cancel_requests_) {
    const auto it = seqs_.find(id);
    if (it == seqs_.end()) continue;  // finished meanwhile, or cancelled twice
    out->finished.push_back({id, -1, FinishReason::kCancelled, {}});
    release(it->second.get());
  }
  cancel_requests_.clear();
}

// Running sequences in service order. `decodes` selects those with one token left to compute
// (decode) or those with more (a prompt, or a recompute, mid-way).
void Scheduler::schedule_running(bool decodes, StepContext& ctx) {
  const std::vector<SequenceState*> order = running_;  // preemption edits running_
  for (SequenceState* seq : order) {
    if (seq->phase != SequenceState::Phase::kRunning || seq->scheduled_step == step_id_) continue;
    if ((seq->num_uncomputed() == 1) != decodes) continue;
    const int64_t n = ctx.budget.take(seq->num_uncomputed());
    if (n == 0) return;
    if (!reserve_blocks(seq, seq->num_computed_tokens + n, ctx)) {
      ctx.budget.give_back(n);
      continue;
    }
    seq->scheduled_step = step_id_;
    ctx.picks.push_back({seq, n});
  }
}

// Admits waiting sequences in service order while the budget, the sequence cap and the pool
// allow. Stops at the first that does not fit, so a big request is not overtaken forever by
// smaller ones behind it.
void Scheduler::admit_waiting(StepContext& ctx) {
  std::vector<int32_t> hits;
  while (!waiting_.empty() && ctx.budget.left() > 0 &&
         static_cast<int32_t>(running_.size()) < opt_.max_num_seqs) {
    SequenceState* seq = waiting_.front();
    const int64_t cached = pool_.match_prefix(seq->tokens, &hits);
    const int64_t n = std::min(seq->num_tokens() - cached, ctx.budget.left());
    if (!pool_.allocate_slots(seq->blocks, cached + n, hits, seq->num_tokens())) return;
    waiting_.pop_front();
    ctx.budget.take(n);
    if (seq->num_preemptions == 0) seq->num_cached_tokens = cached;
    seq->num_computed_tokens = cached;
    seq->phase = SequenceState::Phase::kRunning;
    seq->scheduled_step = step_id_;
    running_.insert(std::upper_bound(running_.begin(), running_.end(), seq, ServiceOrder{}), seq);
    ctx.picks.push_back({seq, n});
  }
}

// Grows `seq` to `num_tokens` KV slots, preempting sequences later in service order until the
// pool can supply them. Returns false when `seq` itself had to give way.
bool Scheduler::reserve_blocks(SequenceState* seq, int64_t num_tokens, StepContext& ctx) {
  while (!pool_.allocate_slots(seq->blocks, num_tokens)) {
    SequenceState* victim = PreemptionPolicy::pick_victim(running_);
    if (victim != seq) {
      preempt(victim, ctx);
      continue;
    }
    if (running_.size() == 1) {  // alone and still short: it can never run (add() prevents it)
      ctx.out->finished.push_back(
          {seq->id, -1, FinishReason::kError,
           fmt::format("sequence needs {} KV blocks; the cache holds {}",
                       pool_.blocks_for_tokens(num_tokens), pool_.n_blocks())});
      release(seq);
    } else {
      preempt(seq, ctx);
    }
    return false;
  }
  return true;
}

// Frees `seq`'s blocks and queues it for recompute of everything it has (prompt and generated
// tokens); its computed full blocks stay in the prefix cache, so recompute is often a hit.
void Scheduler::preempt(SequenceState* seq, StepContext& ctx) {
  const auto pick = std::ranges::find(ctx.picks, seq, &Pick::seq);
  if (pick != ctx.picks.end()) {
    ctx.budget.give_back(pick->n);
    ctx.picks.erase(pick);
  }
  remove_running(seq);
  pool_.free_sequence(seq->blocks);
  seq->num_computed_tokens = 0;
  seq->phase = SequenceState::Phase::kWaiting;
  ++seq->num_preemptions;
  ++num_preemptions_;
  waiting_.push(seq);
  ctx.out->preempted.push_back(seq->id);
  ctx.preempted = true;
}

void Scheduler::emit(const StepContext& ctx) {
  for (const Pick& pick : ctx.picks) {
    SequenceState& seq = *pick.seq;
    ScheduledSeq s;
    s.seq_id = seq.id;
    s.start_position = seq.num_computed_tokens;
    const auto first = seq.tokens.begin() + seq.num_computed_tokens;
    s.tokens.assign(first, first + pick.n);
    s.block_table = seq.blocks.table;
    seq.num_computed_tokens += pick.n;
    s.want_logits = seq.num_computed_tokens == seq.num_tokens();
    in_flight_.push_back({seq.id, s.want_logits});
    ctx.out->num_tokens += pick.n;
    ctx.out->seqs.push_back(std::move(s));
  }
}

const SequenceState* Scheduler::find(int64_t seq_id) const {
  const auto it = seqs_.find(seq_id);
  return it == seqs_.end() ? nullptr : it->second.get();
}

void Scheduler::remove_running(SequenceState* seq) {
  const auto it = std::ranges::find(running_, seq);
  if (it != running_.end()) running_.erase(it);
}

void Scheduler::release(SequenceState* seq) {
  if (seq->phase == SequenceState::Phase::kRunning) {
    remove_running(seq);
  } else {
    waiting_.remove(seq);
  }
  pool_.free_sequence(seq->blocks);
  seqs_.erase(seq->id);
}

SchedulerStats Scheduler::stats() const {
  return {.num_running = static_cast<int64_t>(running_.size()),
          .num_waiting = static_cast<int64_t>(waiting_.size()),
          .num_preemptions = num_preemptions_,
          .num_steps = static_cast<int64_t>(step_id_)};
}

}  // namespace tenbin
