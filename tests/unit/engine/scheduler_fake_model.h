// A stand-in for the model runner in scheduler tests. It writes every scheduled token into a
// fake paged KV store through the block table, then checks that each position the slice attends
// to holds that sequence's own token: wrong block tables, bad prefix hits or a block reused while
// still owned all show up as mismatches. It "samples" token = its step counter.
// SchedulerHarness drives scheduler + fake model step by step and records every event.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "engine/scheduler/scheduler.h"
#include "util/status.h"

namespace tenbin {

class FakeModel {
 public:
  FakeModel(int32_t n_blocks, int32_t block_size)
      : block_size_(block_size), kv_(static_cast<size_t>(n_blocks) * block_size, kEmpty) {}

  // Optional: decides the caller's stop flag (EOS) for a sampled token.
  std::function<bool(int64_t seq_id, int32_t token)> stop;

  Expected<RunnerOutput> run(const SchedulerOutput& out, const Scheduler& sched) {
    ++step_;
    for (const ScheduledSeq& s : out.seqs) {  // write all K/V first, as the forward does
      for (size_t i = 0; i < s.tokens.size(); ++i) {
        const int64_t pos = s.start_position + static_cast<int64_t>(i);
        kv_[slot(s.block_table, pos)] = encode(s.tokens[i], pos);
      }
    }
    RunnerOutput result;
    for (const ScheduledSeq& s : out.seqs) {
      const SequenceState* seq = sched.find(s.seq_id);
      if (!seq) return Status::Errorf("scheduled sequence {} is unknown", s.seq_id);
      const int64_t end = s.start_position + static_cast<int64_t>(s.tokens.size());
      for (int64_t pos = 0; pos < end; ++pos) {
        if (kv_[slot(s.block_table, pos)] != encode(seq->tokens[pos], pos)) {
          return Status::Errorf("step {}: sequence {} reads wrong K/V at position {}", step_,
                                s.seq_id, pos);
        }
      }
      if (s.want_logits) {
        const auto token = static_cast<int32_t>(step_);
        result.tokens.push_back({s.seq_id, token, stop && stop(s.seq_id, token)});
      }
    }
    return result;
  }

 private:
  static constexpr int64_t kEmpty = -1;
  static int64_t encode(int32_t token, int64_t pos) { return (pos << 32) | uint32_t(token); }
  size_t slot(const std::vector<int32_t>& table, int64_t pos) const {
    return static_cast<size_t>(table.at(static_cast<size_t>(pos / block_size_))) * block_size_ +
           static_cast<size_t>(pos % block_size_);
  }

  int32_t block_size_;
  int64_t step_ = 0;
  std::vector<int64_t> kv_;
};

inline SchedulerOptions scheduler_options(int32_t max_batch_tokens, int32_t max_num_seqs,
                                          int32_t max_context = 4096) {
  SchedulerOptions o;
  o.max_batch_tokens = max_batch_tokens;
  o.max_num_seqs = max_num_seqs;
  o.max_context = max_context;
  return o;
}

inline BlockPoolOptions pool_options(int32_t n_blocks, int32_t block_size = 16) {
  BlockPoolOptions o;
  o.n_blocks = n_blocks;
  o.block_size = block_size;
  return o;
}

inline SequenceRequest make_request(int64_t id, std::vector<int32_t> prompt, int32_t max_tokens,
                                    int32_t priority = 0) {
  SequenceRequest r;
  r.id = id;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.priority = priority;
  return r;
}

// Scheduler + fake model driven step by step; collects every event by sequence.
struct SchedulerHarness {
  SchedulerHarness(const SchedulerOptions& options, const BlockPoolOptions& pool)
      : sched(options, pool), model(pool.n_blocks, pool.block_size) {}

  // One engine step: schedule, run the fake model, feed the result back.
  SchedulerOutput step() {
    SchedulerOutput out = sched.step();
    for (const SeqEvent& e : out.finished) record(e);
    Expected<RunnerOutput> result = model.run(out, sched);
    EXPECT_TRUE(result.ok()) << result.status().message();
    if (!result.ok()) return out;
    std::vector<SeqEvent> events;
    const Status s = sched.update(*result, &events);
    EXPECT_TRUE(s.ok()) << s.message();
    for (const SeqEvent& e : events) record(e);
    ++steps;
    return out;
  }

  void run_to_completion(int max_steps) {
    for (int i = 0; i < max_steps && sched.has_unfinished(); ++i) step();
    EXPECT_FALSE(sched.has_unfinished());
  }

  void record(const SeqEvent& e) {
    EXPECT_EQ(finish.count(e.seq_id), 0u) << "event after the end of sequence " << e.seq_id;
    if (e.token >= 0) outputs[e.seq_id].push_back(e.token);
    if (e.finish != FinishReason::kNone) finish[e.seq_id] = e.finish;
  }

  Scheduler sched;
  FakeModel model;
  int steps = 0;
  std::map<int64_t, std::vector<int32_t>> outputs;
  std::map<int64_t, FinishReason> finish;
};

// Every block is free, cached or owned; nothing leaks once all sequences are gone.
inline void expect_pool_drained(const Scheduler& sched) {
  const BlockPool& pool = sched.block_pool();
  EXPECT_TRUE(pool.check_invariants().ok()) << pool.check_invariants().message();
  EXPECT_EQ(pool.stats().n_used, 0);
  EXPECT_EQ(pool.num_free_blocks(), pool.n_blocks());
}

}  // namespace tenbin
