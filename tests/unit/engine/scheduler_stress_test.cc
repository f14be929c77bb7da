// Randomized stress test of the scheduler on the fake model: 200 requests with random lengths,
// priorities, shared system prompts, EOS flags and cancellations arrive over time under block
// pressure. Invariants are checked after every step; every request must end exactly once.
#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "engine/scheduler/scheduler.h"
#include "scheduler_fake_model.h"

namespace tenbin {
namespace {

struct StressConfig {
  uint64_t seed = 1;
  int32_t block_size = 16;
  int32_t n_blocks = 96;
  int32_t max_batch_tokens = 256;
  int32_t max_num_seqs = 16;
  int n_requests = 200;
};

// Decoding sequences (one token left to compute) before the step: they must come first.
std::set<int64_t> decoders(const Scheduler& sched) {
  std::set<int64_t> ids;
  for (const SequenceState* s : sched.running()) {
    if (s->num_uncomputed() == 1) ids.insert(s->id);
  }
  return ids;
}

void check_output(const SchedulerOutput& out, const std::set<int64_t>& decoders_before,
                  const StressConfig& cfg) {
  EXPECT_LE(out.num_tokens, cfg.max_batch_tokens);
  EXPECT_LE(static_cast<int32_t>(out.seqs.size()), cfg.max_num_seqs);
  std::set<int64_t> seen;
  int64_t sum = 0;
  bool prefill_seen = false;
  for (const ScheduledSeq& s : out.seqs) {
    EXPECT_TRUE(seen.insert(s.seq_id).second) << "sequence scheduled twice in one step";
    sum += static_cast<int64_t>(s.tokens.size());
    const bool is_decoder = decoders_before.contains(s.seq_id);
    EXPECT_FALSE(is_decoder && prefill_seen) << "decode of " << s.seq_id << " after a prefill";
    prefill_seen |= !is_decoder;
  }
  EXPECT_EQ(sum, out.num_tokens);
}

// Each block is owned by at most its refcount's worth of sequences, and shared only if cached.
void check_ownership(const Scheduler& sched) {
  const BlockPool& pool = sched.block_pool();
  ASSERT_TRUE(pool.check_invariants().ok()) << pool.check_invariants().message();
  std::map<int32_t, int> owners;
  for (const SequenceState* s : sched.running()) {
    std::set<int32_t> own(s->blocks.table.begin(), s->blocks.table.end());
    EXPECT_EQ(own.size(), s->blocks.table.size()) << "a block twice in one table";
    EXPECT_GE(static_cast<int64_t>(s->blocks.table.size()) * pool.block_size(),
              s->num_computed_tokens);
    for (int32_t b : own) ++owners[b];
  }
  for (const auto& [block, n] : owners) {
    EXPECT_EQ(pool.ref_count(block), n) << "block " << block;
    if (n > 1) {
      EXPECT_TRUE(pool.is_cached(block)) << "private block " << block << " shared";
    }
  }
  EXPECT_EQ(pool.stats().n_used, static_cast<int32_t>(owners.size()));
}

void run_stress(const StressConfig& cfg) {
  SCOPED_TRACE(::testing::Message() << "seed " << cfg.seed << " block_size " << cfg.block_size);
  std::mt19937_64 rng(cfg.seed);
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  SchedulerHarness h(scheduler_options(cfg.max_batch_tokens, cfg.max_num_seqs, 512),
                     pool_options(cfg.n_blocks, cfg.block_size));
  h.model.stop = [](int64_t seq, int32_t token) { return (seq * 31 + token) % 97 == 0; };
  std::vector<std::vector<int32_t>> systems(3);
  for (auto& s : systems) {
    for (int i = 0; i < 48; ++i) s.push_back(uniform(0, 31999));
  }

  std::map<int64_t, int> arrival_step, max_tokens, priority;
  std::set<int64_t> cancelled;
  int64_t next_id = 0;
  int max_wait = 0, max_wait_interactive = 0;  // steps from arrival to the end
  while ((next_id < cfg.n_requests || h.sched.has_unfinished()) && h.steps < 20000) {
    for (int k = uniform(0, 3); k > 0 && next_id < cfg.n_requests; --k) {
      std::vector<int32_t> prompt;
      if (uniform(0, 1)) prompt = systems[static_cast<size_t>(uniform(0, 2))];
      for (int i = uniform(1, 250); i > 0; --i) prompt.push_back(uniform(0, 31999));
      const int32_t n_out = uniform(1, 64);
      priority[next_id] = uniform(0, 3);
      ASSERT_TRUE(h.sched.add(make_request(next_id, prompt, n_out, priority[next_id])).ok());
      arrival_step[next_id] = h.steps;
      max_tokens[next_id++] = n_out;
    }
    if (next_id > 0 && uniform(0, 19) == 0) {  // a client goes away (maybe already served)
      const int64_t id = uniform(0, static_cast<int>(next_id - 1));
      if (h.sched.cancel(id)) cancelled.insert(id);
    }
    const std::set<int64_t> decoders_before = decoders(h.sched);
    const SchedulerOutput out = h.step();
    check_output(out, decoders_before, cfg);
    check_ownership(h.sched);
    if (h.sched.has_unfinished()) {
      ASSERT_FALSE(out.empty()) << "no progress at step " << h.steps;
    }
    for (const auto& [id, step] : arrival_step) {
      if (h.finish.contains(id)) continue;
      max_wait = std::max(max_wait, h.steps - step);
      if (priority[id] == 0) max_wait_interactive = std::max(max_wait_interactive, h.steps - step);
    }
    if (::testing::Test::HasFatalFailure()) return;
  }

  ASSERT_EQ(h.finish.size(), static_cast<size_t>(cfg.n_requests));
  for (const auto& [id, reason] : h.finish) {
    switch (reason) {
      case FinishReason::kCancelled:
        EXPECT_TRUE(cancelled.contains(id));
        break;
      case FinishReason::kLength:
        EXPECT_EQ(static_cast<int>(h.outputs[id].size()), max_tokens[id]);
        break;
      case FinishReason::kStop:
        EXPECT_TRUE(h.model.stop(id, h.outputs[id].back()));
        break;
      default:
        ADD_FAILURE() << "sequence " << id << " ended with " << to_string(reason);
    }
  }
  // No starvation: priority 0 finishes within a bound of its arrival (waiting requests do not
  // preempt, so it may wait for a seat held by lower priorities); the lowest priority waits for
  // the higher ones that keep arriving, but the whole run stays bounded.
  EXPECT_LE(max_wait_interactive, 500);
  EXPECT_LE(h.steps, 1500);
  const BlockPoolStats stats = h.sched.block_pool().stats();
  EXPECT_GT(h.sched.stats().num_preemptions, 0) << "the pool was meant to run dry";
  EXPECT_GT(stats.prefix_hit_tokens, 0);
  expect_pool_drained(h.sched);
  std::printf(
      "seed %llu bs %d: %d steps, %lld preemptions, max wait %d (priority 0: %d) steps, "
      "%lld/%lld prefix tokens hit, %lld evictions\n",
      static_cast<unsigned long long>(cfg.seed), cfg.block_size, h.steps,
      static_cast<long long>(h.sched.stats().num_preemptions), max_wait, max_wait_interactive,
      static_cast<long long>(stats.prefix_hit_tokens),
      static_cast<long long>(stats.prefix_query_tokens), static_cast<long long>(stats.evictions));
}

TEST(SchedulerStress, TwoHundredRandomRequestsBlockSize16) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    StressConfig cfg;
    cfg.seed = seed;
    run_stress(cfg);
  }
}

TEST(SchedulerStress, TwoHundredRandomRequestsSmallBlocksTightPool) {
  for (uint64_t seed = 11; seed <= 14; ++seed) {
    StressConfig cfg;
    cfg.seed = seed;
    cfg.block_size = 4;
    cfg.n_blocks = 200;  // 800 slots for up to 16 sequences of up to 362 tokens
    cfg.max_batch_tokens = 128;
    run_stress(cfg);
  }
}

}  // namespace
}  // namespace tenbin
