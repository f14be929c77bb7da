// Scheduler policies one at a time, on a fake model (see scheduler_fake_model.h). Timelines:
// p = prompt token computed, d = decode token, * = logits taken (a token is sampled).
#include "engine/scheduler/scheduler.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "scheduler_fake_model.h"

namespace tenbin {
namespace {

std::vector<int32_t> tokens(int n, int32_t first = 1000) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), first);
  return t;
}

// budget 256, one 1000-token prompt:
//   step 1: p[0,256)  step 2: p[256,512)  step 3: p[512,768)  step 4: p[768,1000)*
TEST(Scheduler, ChunkedPrefillOf1000TokensWithBudget256TakesFourSteps) {
  SchedulerHarness h(scheduler_options(256, 8), pool_options(128));
  ASSERT_TRUE(h.sched.add(make_request(1, tokens(1000), 1)).ok());
  const int64_t starts[] = {0, 256, 512, 768};
  const size_t sizes[] = {256, 256, 256, 232};
  for (int i = 0; i < 4; ++i) {
    const SchedulerOutput out = h.step();
    ASSERT_EQ(out.seqs.size(), 1u);
    EXPECT_EQ(out.seqs[0].start_position, starts[i]);
    EXPECT_EQ(out.seqs[0].tokens.size(), sizes[i]);
    EXPECT_EQ(out.seqs[0].want_logits, i == 3);
    EXPECT_GE(out.seqs[0].block_table.size() * 16, starts[i] + sizes[i]);
  }
  EXPECT_EQ(h.outputs[1].size(), 1u);
  EXPECT_EQ(h.finish[1], FinishReason::kLength);
  EXPECT_FALSE(h.sched.has_unfinished());
  expect_pool_drained(h.sched);
}

// budget 64:  step 1: A p p ... p*(10)
//             step 2: A d* | B p p ... p (63 = the rest of the budget)
TEST(Scheduler, DecodesComeBeforePrefillChunks) {
  SchedulerHarness h(scheduler_options(64, 8), pool_options(64));
  ASSERT_TRUE(h.sched.add(make_request(1, tokens(10), 20)).ok());
  h.step();
  ASSERT_TRUE(h.sched.add(make_request(2, tokens(200), 5)).ok());
  const SchedulerOutput out = h.step();
  ASSERT_EQ(out.seqs.size(), 2u);
  EXPECT_EQ(out.seqs[0].seq_id, 1);
  EXPECT_EQ(out.seqs[0].tokens.size(), 1u);
  EXPECT_EQ(out.seqs[0].start_position, 10);
  EXPECT_TRUE(out.seqs[0].want_logits);
  EXPECT_EQ(out.seqs[1].seq_id, 2);
  EXPECT_EQ(out.seqs[1].tokens.size(), 63u);
  EXPECT_FALSE(out.seqs[1].want_logits);
  h.run_to_completion(100);
  EXPECT_EQ(h.outputs[1].size(), 20u);
  EXPECT_EQ(h.outputs[2].size(), 5u);
  expect_pool_drained(h.sched);
}

// --prefill-first: the same two requests, but the prompt takes the whole budget and the
// decoding sequence waits for a step with room left; a small prompt leaves room for it.
TEST(Scheduler, PrefillFirstGivesPromptsTheBudgetFirst) {
  SchedulerOptions o = scheduler_options(64, 8);
  o.prefill_first = true;
  SchedulerHarness h(o, pool_options(64));
  ASSERT_TRUE(h.sched.add(make_request(1, tokens(10), 20)).ok());
  h.step();
  ASSERT_TRUE(h.sched.add(make_request(2, tokens(200), 5)).ok());
  SchedulerOutput out = h.step();
  ASSERT_EQ(out.seqs.size(), 1u);
  EXPECT_EQ(out.seqs[0].seq_id, 2);
  EXPECT_EQ(out.seqs[0].tokens.size(), 64u);
  for (int i = 0; i < 2; ++i) {  // prompt tokens 64..191: the decoder still waits
    out = h.step();
    ASSERT_EQ(out.seqs.size(), 1u);
    EXPECT_EQ(out.seqs[0].seq_id, 2);
  }
  out = h.step();  // the prompt's last 8 tokens, then the decode token in what is left
  ASSERT_EQ(out.seqs.size(), 2u);
  EXPECT_EQ(out.seqs[0].seq_id, 2);
  EXPECT_EQ(out.seqs[0].tokens.size(), 8u);
  EXPECT_TRUE(out.seqs[0].want_logits);
  EXPECT_EQ(out.seqs[1].seq_id, 1);
  EXPECT_EQ(out.seqs[1].tokens.size(), 1u);
  h.run_to_completion(100);
  EXPECT_EQ(h.outputs[1].size(), 20u);
  EXPECT_EQ(h.outputs[2].size(), 5u);
  expect_pool_drained(h.sched);
}

TEST(Scheduler, RespectsTokenBudgetAndSequenceCapEveryStep) {
  SchedulerHarness h(scheduler_options(64, 4), pool_options(128));
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(h.sched.add(make_request(i, tokens(50, i * 100), 10)).ok());
  while (h.sched.has_unfinished() && h.steps < 500) {
    const SchedulerOutput out = h.step();
    EXPECT_LE(out.num_tokens, 64);
    EXPECT_LE(out.seqs.size(), 4u);
    EXPECT_LE(h.sched.running().size(), 4u);
  }
  EXPECT_EQ(h.finish.size(), 10u);
  expect_pool_drained(h.sched);
}

// Three priority-10 jobs, room for two. An interactive priority-0 request arrives later; it takes
// the first free seat (job 1 finishes first), ahead of the third job that has waited longer.
TEST(Scheduler, InteractivePriorityOvertakesLongJobs) {
  SchedulerHarness h(scheduler_options(512, 2), pool_options(128));
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(h.sched.add(make_request(i, tokens(100, i * 1000), 20 + 10 * i, 10)).ok());
  h.step();
  ASSERT_TRUE(h.sched.add(make_request(99, tokens(8), 4, 0)).ok());
  std::map<int64_t, int> first_step;
  while (h.sched.has_unfinished() && h.steps < 500) {
    const SchedulerOutput out = h.step();
    for (const ScheduledSeq& s : out.seqs) first_step.emplace(s.seq_id, h.steps);
  }
  ASSERT_EQ(h.finish.size(), 4u);
  EXPECT_LT(first_step[99], first_step[3]);
  EXPECT_EQ(h.outputs[99].size(), 4u);
  expect_pool_drained(h.sched);
}

TEST(Scheduler, LowerPriorityValueIsAdmittedFirst) {
  SchedulerHarness h(scheduler_options(512, 1), pool_options(64));
  ASSERT_TRUE(h.sched.add(make_request(1, tokens(20), 2, 10)).ok());
  ASSERT_TRUE(h.sched.add(make_request(2, tokens(20), 2, 0)).ok());
  const SchedulerOutput out = h.step();
  ASSERT_EQ(out.seqs.size(), 1u);
  EXPECT_EQ(out.seqs[0].seq_id, 2);
  h.run_to_completion(50);
  expect_pool_drained(h.sched);
}

// Pool of 8 blocks of 4 tokens; two sequences of 8 prompt + 20 generated tokens need 7 blocks
// each. They grow together until the pool is dry; then B (priority 5, though it arrived first)
// gives its blocks back, waits for A to finish, and is recomputed: prompt and the tokens it had
// generated, re-prefilled in one chunk, before it decodes on.
TEST(Scheduler, PreemptsLowestPriorityUnderBlockPressureThenFinishesBoth) {
  SchedulerHarness h(scheduler_options(256, 8), pool_options(8, 4));
  ASSERT_TRUE(h.sched.add(make_request(2, tokens(8, 500), 20, 5)).ok());  // B
  ASSERT_TRUE(h.sched.add(make_request(1, tokens(8, 100), 20, 0)).ok());  // A
  std::vector<int64_t> preempted;
  bool saw_recompute = false;
  while (h.sched.has_unfinished() && h.steps < 200) {
    const SequenceState* b = h.sched.find(2);
    const bool b_waiting_with_output =
        b && b->phase == SequenceState::Phase::kWaiting && b->num_output_tokens() > 0;
    const SchedulerOutput out = h.step();
    preempted.insert(preempted.end(), out.preempted.begin(), out.preempted.end());
    for (const ScheduledSeq& s : out.seqs) {
      if (s.seq_id == 2 && b_waiting_with_output) {
        saw_recompute = true;
        EXPECT_TRUE(s.want_logits);  // the whole history fits the budget: one chunk
        EXPECT_GT(s.start_position + static_cast<int64_t>(s.tokens.size()), 8);
      }
    }
  }
  ASSERT_FALSE(preempted.empty());
  EXPECT_TRUE(std::ranges::all_of(preempted, [](int64_t id) { return id == 2; }));
  EXPECT_TRUE(saw_recompute);
  EXPECT_EQ(h.outputs[1].size(), 20u);
  EXPECT_EQ(h.outputs[2].size(), 20u);
  EXPECT_EQ(h.finish[1], FinishReason::kLength);
  EXPECT_EQ(h.finish[2], FinishReason::kLength);
  expect_pool_drained(h.sched);
}

TEST(Scheduler, SamePriorityPreemptsTheMostRecentArrival) {
  SchedulerHarness h(scheduler_options(256, 8), pool_options(8, 4));
  ASSERT_TRUE(h.sched.add(make_request(1, tokens(8, 100), 20)).ok());
  ASSERT_TRUE(h.sched.add(make_request(2, tokens(8, 500), 20)).ok());
  std::vector<int64_t> preempted;
  while (h.sched.has_unfinished() && h.steps < 200) {
    const SchedulerOutput out = h.step();
    preempted.insert(preempted.end(), out.preempted.begin(), out.preempted.end());
  }
  ASSERT_FALSE(preempted.empty());
  EXPECT_TRUE(std::ranges::all_of(preempted, [](int64_t id) { return id == 2; }));
  EXPECT_EQ(h.sched.stats().num_preemptions, static_cast<int64_t>(preempted.size()));
  expect_pool_drained(h.sched);
}

TEST(Scheduler, CancelRemovesRunningAndWaitingAtNextStep) {
  SchedulerHarness h(scheduler_options(64, 1), pool_options(64));
  ASSERT_TRUE(h.sched.add(make_request(1, tokens(10), 50)).ok());
  ASSERT_TRUE(h.sched.add(make_request(2, tokens(10), 50)).ok());
  h.step();  // 1 runs, 2 waits (cap 1)
  EXPECT_GT(h.sched.block_pool().stats().n_used, 0);
  EXPECT_TRUE(h.sched.cancel(1));
  EXPECT_TRUE(h.sched.cancel(2));
  EXPECT_TRUE(h.sched.cancel(2));  // twice: still one cancelled event
  EXPECT_FALSE(h.sched.cancel(7));
  const SchedulerOutput out = h.step();
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(out.finished.size(), 2u);
  EXPECT_EQ(h.finish[1], FinishReason::kCancelled);
  EXPECT_EQ(h.finish[2], FinishReason::kCancelled);
  EXPECT_FALSE(h.sched.cancel(1));
  EXPECT_FALSE(h.sched.has_unfinished());
  expect_pool_drained(h.sched);
}

TEST(Scheduler, RejectsRequestsThatCanNeverBeServed) {
  Scheduler sched(scheduler_options(64, 4, 128), pool_options(4, 16));  // 64 KV slots
  const Status too_long = sched.add(make_request(1, tokens(100), 29));
  EXPECT_FALSE(too_long.ok());
  EXPECT_NE(too_long.message().find("exceeds the context of 128"), std::string::npos);
  const Status too_big = sched.add(make_request(2, tokens(60), 6));  // 65 slots
  EXPECT_FALSE(too_big.ok());
  EXPECT_NE(too_big.message().find("KV blocks"), std::string::npos);
  EXPECT_TRUE(sched.add(make_request(3, tokens(60), 5)).ok());  // exactly 64 slots
  EXPECT_FALSE(sched.add(make_request(3, tokens(6), 5)).ok());  // id in use
  EXPECT_FALSE(sched.add(make_request(4, {}, 5)).ok());
  EXPECT_FALSE(sched.add(make_request(5, tokens(6), 0)).ok());
}

// R1: [system 64][user 10] runs and finishes; its 4 system blocks stay cached.
// R2: [system 64][other user 10]: the system blocks are hits, prefill starts at position 64.
TEST(Scheduler, SharedSystemPromptIsReusedFromThePrefixCache) {
  SchedulerHarness h(scheduler_options(256, 8), pool_options(64));
  const std::vector<int32_t> system = tokens(64, 5000);
  std::vector<int32_t> p1 = system, p2 = system;
  for (int32_t t : tokens(10, 1)) p1.push_back(t);
  for (int32_t t : tokens(10, 50)) p2.push_back(t);
  ASSERT_TRUE(h.sched.add(make_request(1, p1, 3)).ok());
  h.run_to_completion(20);
  ASSERT_TRUE(h.sched.add(make_request(2, p2, 3)).ok());
  const SchedulerOutput out = h.step();
  ASSERT_EQ(out.seqs.size(), 1u);
  EXPECT_EQ(out.seqs[0].start_position, 64);
  EXPECT_EQ(out.seqs[0].tokens.size(), 10u);
  EXPECT_EQ(h.sched.find(2)->num_cached_tokens, 64);
  EXPECT_EQ(h.sched.block_pool().stats().prefix_hit_tokens, 64);
  EXPECT_EQ(h.sched.block_pool().stats().prefix_hit_blocks, 4);
  h.run_to_completion(20);
  expect_pool_drained(h.sched);
}

TEST(Scheduler, StopsOnStopTokenIdOrTheCallersFlag) {
  SchedulerHarness h(scheduler_options(64, 8), pool_options(64));
  SequenceRequest a = make_request(1, tokens(5), 50);
  a.stop_token_ids = {3};  // the fake model samples its step counter: 1, 2, 3
  ASSERT_TRUE(h.sched.add(std::move(a)).ok());
  ASSERT_TRUE(h.sched.add(make_request(2, tokens(5), 50)).ok());
  h.model.stop = [](int64_t seq, int32_t token) { return seq == 2 && token == 2; };
  h.run_to_completion(10);
  EXPECT_EQ(h.outputs[1], (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(h.outputs[2], (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(h.finish[1], FinishReason::kStop);
  EXPECT_EQ(h.finish[2], FinishReason::kStop);
  expect_pool_drained(h.sched);
}

TEST(Scheduler, MissingRunnerTokenFailsThatSequence) {
  Scheduler sched(scheduler_options(64, 8), pool_options(16));
  ASSERT_TRUE(sched.add(make_request(1, tokens(5), 5)).ok());
  ASSERT_EQ(sched.step().seqs.size(), 1u);
  std::vector<SeqEvent> events;
  EXPECT_FALSE(sched.update(RunnerOutput{}, &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].finish, FinishReason::kError);
  EXPECT_FALSE(sched.has_unfinished());
  expect_pool_drained(sched);
}

TEST(Scheduler, OptionsValidate) {
  EXPECT_TRUE(scheduler_options(64, 8).validate().ok());
  EXPECT_FALSE(scheduler_options(4, 8).validate().ok());
  EXPECT_FALSE(scheduler_options(64, 0).validate().ok());
}

}  // namespace
}  // namespace tenbin
