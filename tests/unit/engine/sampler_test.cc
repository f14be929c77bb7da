#include "engine/sampler.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace tenbin {
namespace {

// Sampling from the plain softmax: temperature 1, every filter off.
SamplingParams softmax_sampling(uint64_t seed = 0) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

TEST(Sampler, GreedyPicksArgmax) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p);
  std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.4f};
  EXPECT_EQ(s.sample(logits, {}), 1);
}

TEST(Sampler, RepeatPenaltyChangesGreedyChoice) {
  SamplingParams p;
  p.temperature = 0;
  p.repeat_penalty = 1.5f;
  Sampler s(p);
  std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.4f};
  const std::vector<int32_t> history = {1};
  EXPECT_EQ(s.sample(logits, history), 3);  // 2.5 / 1.5 < 2.4
}

TEST(Sampler, LogitBiasMovesGreedyChoiceAndBans) {
  SamplingParams p;
  p.temperature = 0;
  p.logit_bias = {{2, 3.6f}, {1, -0.2f}, {99, 100.0f}};  // 99: past the vocabulary, ignored
  Sampler s(p);
  std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.4f};
  EXPECT_EQ(s.sample(logits, {}), 2);  // -1 + 3.6 = 2.6 > 2.4 > 2.3

  SamplingParams q = softmax_sampling(5);
  q.logit_bias = {{0, -100.0f}, {1, -100.0f}};
  Sampler banned(q);
  for (int i = 0; i < 200; ++i) {
    std::vector<float> row = {3.0f, 3.0f, 0.0f, 0.0f};
    const int32_t t = banned.sample(row, {});
    EXPECT_TRUE(t == 2 || t == 3) << t;
  }
}

TEST(Sampler, LogitBiasValidation) {
  SamplingParams p;
  p.logit_bias = {{3, 100.0f}, {4, -100.0f}};
  EXPECT_TRUE(p.validate().ok());
  p.logit_bias = {{3, 100.5f}};
  EXPECT_FALSE(p.validate().ok());
  p.logit_bias = {{-1, 1.0f}};
  EXPECT_FALSE(p.validate().ok());
}

TEST(Sampler, TopKOneIsGreedy) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 1;
  Sampler s(p);
  for (int i = 0; i < 20; ++i) {
    std::vector<float> logits = {0.1f, 0.3f, 0.2f};
    EXPECT_EQ(s.sample(logits, {}), 1);
  }
}

TEST(Sampler, SameSeedSameDraws) {
  SamplingParams p = softmax_sampling(42);
  Sampler a(p), b(p);
  for (int i = 0; i < 50; ++i) {
    std::vector<float> la(16), lb(16);
    for (int j = 0; j < 16; ++j) la[j] = lb[j] = std::sin(j * 1.7f);
    EXPECT_EQ(a.sample(la, {}), b.sample(lb, {}));
  }
}

TEST(Sampler, FrequenciesFollowSoftmax) {
  SamplingParams p = softmax_sampling(7);
  Sampler s(p);
  const std::vector<float> base = {0.0f, 1.0f, 2.0f};
  std::vector<int> counts(3, 0);
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    std::vector<float> logits = base;
    ++counts[s.sample(logits, {})];
  }
  double z = std::exp(0.0) + std::exp(1.0) + std::exp(2.0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(counts[i] / double(draws), std::exp(base[i]) / z, 0.015) << "token " << i;
  }
}

TEST(Sampler, TopPKeepsNucleusOnly) {
  SamplingParams p = softmax_sampling();
  p.top_p = 0.5f;
  Sampler s(p);
  for (int i = 0; i < 200; ++i) {
    std::vector<float> logits = {5.0f, 0.0f, 0.0f, 0.0f};  // token 0 holds > 0.9 of the mass
    EXPECT_EQ(s.sample(logits, {}), 0);
  }
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  SamplingParams p = softmax_sampling();
  p.min_p = 0.5f;
  Sampler s(p);
  for (int i = 0; i < 200; ++i) {
    std::vector<float> logits = {1.0f, 1.0f, -3.0f, -3.0f};
    EXPECT_LT(s.sample(logits, {}), 2);
  }
}

TEST(Sampler, PlanSaysWhatTheBackendDoes) {
  const std::vector<int32_t> history = {5, 5, 9};
  SamplingParams p;
  p.temperature = 0;
  p.repeat_penalty = 1.1f;
  OutputSelect select;
  Sampler(p).plan(history, 32000, &select);
  EXPECT_EQ(select.top_k, 1);
  EXPECT_EQ(select.edits.size(), 2u);  // tokens 5 and 9
  p.temperature = 0.7f;
  p.top_k = 40;
  Sampler(p).plan(history, 32000, &select);
  EXPECT_EQ(select.top_k, 40);
  EXPECT_EQ(select.draw.temperature, 0.7f);
  p.top_k = 0;
  Sampler(p).plan(history, 32000, &select);
  EXPECT_EQ(select.top_k, kernels::kDrawFromRow);
  p.top_k = 50;
  Sampler(p).plan(history, 40, &select);  // top-k over the whole vocabulary is off
  EXPECT_EQ(select.top_k, kernels::kDrawFromRow);
  p.top_k = kernels::kMaxSelectK + 1;
  Sampler(p).plan(history, 32000, &select);
  EXPECT_EQ(select.top_k, 0);  // the whole row
}

// Sampling planned for a backend (plan, the backend's steps as the host functions run them,
// finish) draws the token sample() draws from the whole row, step after step with the same seed:
// greedy, top-k, and top-k off (the draw over the row, and its fallback to the sorted row).
TEST(Sampler, PlannedDrawsAreTheWholeRowDraws) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n_vocab = 700;
  std::vector<SamplingParams> cases;
  SamplingParams p;
  p.temperature = 0;  // greedy, with penalties and a bias
  p.repeat_penalty = 1.3f;
  p.frequency_penalty = 0.4f;
  p.logit_bias = {{7, 5.0f}, {7, -1.5f}, {900, 3.0f}};
  cases.push_back(p);
  p = SamplingParams{};  // llama.cpp's defaults: top-k 40, top-p 0.95, min-p 0.05
  p.seed = 9;
  cases.push_back(p);
  p.top_k = 0;  // OpenAI's defaults: every filter off
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.temperature = 1.0f;
  p.presence_penalty = 1.0f;
  p.seed = 10;
  cases.push_back(p);
  p.top_p = 0.9f;  // the nucleus, at times past the 256 best (the sorted row's draw)
  cases.push_back(p);
  p.top_p = 1.0f;
  p.min_p = 0.1f;
  cases.push_back(p);
  p.top_k = 300;  // more than a backend selects: the whole row
  cases.push_back(p);
  int sorted_draws = 0, rest_draws = 0;
  for (const SamplingParams& params : cases) {
    Sampler whole(params), planned(params);
    std::vector<int32_t> history = {3, 7, 7, 42};
    int differing = 0;
    for (int step = 0; step < 300; ++step) {
      const float spread = step % 3 == 0 ? 0.3f : 3.0f;  // flat rows now and then
      std::vector<float> row(n_vocab);
      for (float& v : row) v = std::round(normal(rng) * spread * 4.0f) / 4.0f;  // with ties
      std::vector<float> edited = row;
      OutputSelect select;
      planned.plan(history, n_vocab, &select);
      kernels::apply_logit_edits(edited.data(), n_vocab, select.edits.data(),
                                 static_cast<int64_t>(select.edits.size()));
      std::vector<kernels::TokenCandidate> best(kernels::kMaxSelectK);
      int32_t b = 0;
      if (select.top_k == kernels::kDrawFromRow) {
        best[0].token = kernels::draw_over_row(edited.data(), n_vocab, select.draw);
        b = planned.finish(select, {best.data(), 1});
        if (b == kernels::kDrawNeedsSortedRow) {
          b = Sampler::draw_sorted(edited, select.draw);
          ++sorted_draws;
        } else {
          int rank = 0;
          for (int64_t i = 0; i < n_vocab; ++i) rank += edited[i] > edited[b];
          rest_draws += rank >= kernels::kMaxSelectK;
        }
      } else if (select.top_k > 0) {
        kernels::select_top_k(edited.data(), n_vocab, select.top_k, best.data());
        b = planned.finish(select, {best.data(), static_cast<size_t>(select.top_k)});
      } else {  // the whole row
        std::vector<float> copy = row;
        b = planned.sample(copy, history);
      }
      const int32_t a = whole.sample(row, history);
      ASSERT_EQ(a, b) << "case " << &params - cases.data() << " step " << step;
      differing += a != history.back();
      history.push_back(a);
    }
    EXPECT_GT(differing, 0);  // the rows really moved the choice
  }
  EXPECT_GT(sorted_draws, 0);  // the fallback ran
  EXPECT_GT(rest_draws, 0);    // and so did draws past the 256 best
}

TEST(SamplingParams, RejectsOutOfRange) {
  SamplingParams p;
  p.temperature = -1;
  EXPECT_FALSE(p.validate().ok());
  p = SamplingParams{};
  p.top_p = 0;
  EXPECT_FALSE(p.validate().ok());
  p = SamplingParams{};
  p.repeat_penalty = 0;
  EXPECT_FALSE(p.validate().ok());
  EXPECT_TRUE(SamplingParams{}.validate().ok());
}

}  // namespace
}  // namespace tenbin
