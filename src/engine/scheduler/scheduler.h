// Continuous-batching scheduler (vLLM v1 style). Each step spends a token budget: one decode
// token for every running sequence first, then prefill chunks of partially computed prompts,
// then new sequences from the waiting queue, all in service order (priority, arrival). A long
// prompt is split across steps (chunked prefill); prefix-cache hits skip whole blocks. When the
// block pool runs dry, the last running sequence in service order is preempted and recomputed
// later. The engine loop is: out = step(); run the model on out; update(runner output).
// Thread-safety: none. One engine thread owns it; other threads reach it through the engine.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/kv_blocks/block_pool.h"
#include "engine/scheduler/policies.h"
#include "engine/scheduler/scheduler_io.h"
#include "engine/scheduler/sequence.h"
#include "util/status.h"

namespace tenbin {

struct SchedulerOptions {
  int32_t max_batch_tokens = 2048;  // --max-batch-tokens: tokens per forward pass
  int32_t max_num_seqs = 64;        // --max-num-seqs: sequences holding blocks at once
  int32_t max_context = 4096;       // prompt + max_tokens limit (the model's context)
  // --prefill-first: prompt chunks (running, then newly admitted) take the step's budget before
  // the decode tokens, which get what is left. Lower time to first token when many prompts
  // arrive at once; running streams pause while the prompts are prefilled. Default: decode
  // tokens first (one per running sequence), as vLLM's chunked prefill does.
  bool prefill_first = false;

  Status validate() const;
};

struct SchedulerStats {
  int64_t num_running = 0;
  int64_t num_waiting = 0;
  int64_t num_preemptions = 0;  // since start
  int64_t num_steps = 0;
};

class Scheduler {
 public:
  // Both option structs must validate().
  Scheduler(const SchedulerOptions& options, const BlockPoolOptions& pool_options);

  // Queues a request. Rejected up front (the server's 400) when prompt + max_tokens exceeds the
  // context or needs more KV blocks than the whole pool holds.
  Status add(SequenceRequest request);
  // Marks a queued or running sequence; the next step() removes it, frees its blocks and
  // reports kCancelled. Returns false for an unknown or finished id.
  bool cancel(int64_t seq_id);

  // Plans the next forward pass. Call update() with the runner's result before the next step().
  SchedulerOutput step();
  // Appends sampled tokens, registers newly computed full blocks in the prefix cache, detects
  // finishes (max_tokens, stop token ids, the caller's stop flag) and frees finished sequences.
  // Appends one event per sampled token to `events`.
  Status update(const RunnerOutput& output, std::vector<SeqEvent>* events);

  const SequenceState* find(int64_t seq_id) const;
  bool has_unfinished() const { return !seqs_.empty(); }
  const std::vector<SequenceState*>& running() const { return running_; }
  const BlockPool& block_pool() const { return pool_; }
  SchedulerStats stats() const;

 private:
  // One planned slice: `n` tokens of `seq` starting at its num_computed_tokens.
  struct Pick {
    SequenceState* seq;
    int64_t n;
  };
  struct StepContext {
    TokenBudget budget;
    std::vector<Pick> picks;
    SchedulerOutput* out;
    bool preempted = false;
  };
  struct InFlight {
    int64_t seq_id;
    bool want_logits;
  };

  void remove_cancelled(SchedulerOutput* out);
  void schedule_running(bool decodes, StepContext& ctx);
  void admit_waiting(StepContext& ctx);
  bool reserve_blocks(SequenceState* seq, int64_t num_tokens, StepContext& ctx);
  void preempt(SequenceState* seq, StepContext& ctx);
  void emit(const StepContext& ctx);
  FinishReason finish_reason(const SequenceState& seq, bool caller_stop) const;
  // Frees `seq`'s blocks and forgets it.
  void release(SequenceState* seq);
  void remove_running(SequenceState* seq);

  SchedulerOptions opt_;
  BlockPool pool_;
  std::unordered_map<int64_t, std::unique_ptr<SequenceState>> seqs_;
  std::vector<SequenceState*> running_;  // holding blocks, kept in service order
  WaitingQueue waiting_;
  std::vector<int64_t> cancel_requests_;
  std::vector<InFlight> in_flight_;  // the last step's slices, for update()
  uint64_t next_arrival_ = 1;
  uint64_t step_id_ = 0;
  int64_t num_preemptions_ = 0;
};

}  // namespace tenbin
