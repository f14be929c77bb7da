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
