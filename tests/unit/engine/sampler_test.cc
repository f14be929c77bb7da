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

TEST(Sampler, CandidatesNeeded) {
  SamplingParams p;
  p.temperature = 0;
  EXPECT_EQ(Sampler(p).candidates_needed(32000), 1);
  p.temperature = 0.7f;
  p.top_k = 40;
  EXPECT_EQ(Sampler(p).candidates_needed(32000), 40);
  EXPECT_EQ(Sampler(p).candidates_needed(40), 0);  // the whole row anyway
  p.top_k = kernels::kMaxSelectK + 1;
  EXPECT_EQ(Sampler(p).candidates_needed(32000), 0);
  p.top_k = 0;
  EXPECT_EQ(Sampler(p).candidates_needed(32000), 0);
}

// Drawing from the best tokens the device selects (edits, then top-k; kernels/token_select.h)
// gives the token sample() draws from the whole row, step after step with the same seed.
TEST(Sampler, CandidatesDrawWhatTheWholeRowDraws) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const int64_t n_vocab = 500;
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
  p.top_k = 200;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.temperature = 1.5f;
  p.presence_penalty = 1.0f;
  p.seed = 10;
  cases.push_back(p);
  for (const SamplingParams& params : cases) {
    Sampler whole(params), selected(params);
    std::vector<int32_t> history = {3, 7, 7, 42};
    int differing = 0;
    for (int step = 0; step < 200; ++step) {
      std::vector<float> row(n_vocab);
      for (float& v : row) v = std::round(normal(rng) * 4.0f) / 4.0f;  // with ties
      std::vector<float> copy = row;
      const int32_t k = selected.candidates_needed(n_vocab);
      ASSERT_GT(k, 0);
      const auto edits = selected.logit_edits(history);
      kernels::apply_logit_edits(copy.data(), n_vocab, edits.data(),
                                 static_cast<int64_t>(edits.size()));
      std::vector<kernels::TokenCandidate> best(k);
      kernels::select_top_k(copy.data(), n_vocab, k, best.data());
      const int32_t a = whole.sample(row, history);
      const int32_t b = selected.sample_candidates(best);
      ASSERT_EQ(a, b) << "step " << step;
      differing += a != history.back();
      history.push_back(a);
    }
    EXPECT_GT(differing, 0);  // the rows really moved the choice
  }
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
