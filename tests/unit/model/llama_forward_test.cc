// Properties of the forward pass beyond the reference outputs: a prompt run as one batch gives
// the same logits, bit for bit, as the same tokens run one at a time; a sequence's logits do
// not depend on which other sequences share its batch; bad batches are refused.
#include <vector>

#include <gtest/gtest.h>

#include "model/loaded_model.h"
#include "test_data.h"

namespace tenbin {
namespace {

const std::vector<int32_t> kPromptA = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};
const std::vector<int32_t> kPromptB = {1, 291, 280, 294, 262, 294, 353};

class LlamaForward : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    auto m = LoadedModel::load(test::shared_path(GetParam()));
    ASSERT_TRUE(m.ok()) << m.status().message();
    loaded_ = std::move(*m);
  }
  LlamaModel& model() { return *loaded_.model; }
  LoadedModel loaded_;
};

std::vector<float> run(LlamaModel& model, const Batch& batch, KvCache& cache, ThreadPool& pool) {
  auto out = model.forward(batch, cache, pool);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : std::vector<float>{};
}

TEST_P(LlamaForward, PrefillBatchEqualsTokenByToken) {
  ThreadPool pool(2);
  const int64_t vocab = model().config().n_vocab;
  auto cache_a = model().make_kv_cache(64, 1);
  ASSERT_TRUE(cache_a.ok());
  Batch batch;
  for (size_t i = 0; i < kPromptA.size(); ++i) batch.add(kPromptA[i], i, 0, true);
  std::vector<float> all = run(model(), batch, *cache_a, pool);
  ASSERT_EQ(all.size(), kPromptA.size() * vocab);

  auto cache_b = model().make_kv_cache(64, 1);
  for (size_t i = 0; i < kPromptA.size(); ++i) {
    Batch one;
    one.add(kPromptA[i], i, 0, true);
    std::vector<float> logits = run(model(), one, *cache_b, pool);
    ASSERT_EQ(logits.size(), static_cast<size_t>(vocab));
    for (int64_t v = 0; v < vocab; ++v) {
      ASSERT_EQ(logits[v], all[i * vocab + v]) << "token " << i << " vocab " << v;
    }
  }
}

TEST_P(LlamaForward, SequenceLogitsDoNotDependOnBatchMates) {
  ThreadPool pool(2);
  const int64_t vocab = model().config().n_vocab;
  // Alone.
  auto alone_cache = model().make_kv_cache(64, 2);
  Batch alone;
  for (size_t i = 0; i < kPromptB.size(); ++i) alone.add(kPromptB[i], i, 1, true);
  std::vector<float> expected = run(model(), alone, *alone_cache, pool);

  // Interleaved with another sequence in one batch.
  auto shared_cache = model().make_kv_cache(64, 2);
  Batch mixed;
  std::vector<size_t> b_rows;
  for (size_t i = 0; i < kPromptA.size(); ++i) {
    mixed.add(kPromptA[i], i, 0, true);
    if (i < kPromptB.size()) {
      b_rows.push_back(mixed.size());
      mixed.add(kPromptB[i], i, 1, true);
    }
  }
  std::vector<float> got = run(model(), mixed, *shared_cache, pool);
  for (size_t i = 0; i < kPromptB.size(); ++i) {
    for (int64_t v = 0; v < vocab; ++v) {
      ASSERT_EQ(got[b_rows[i] * vocab + v], expected[i * vocab + v]) << "token " << i;
    }
  }
}

TEST_P(LlamaForward, RefusesBadBatches) {
  ThreadPool pool(1);
  auto cache = model().make_kv_cache(8, 1);
  Batch bad_token;
  bad_token.add(static_cast<int32_t>(model().config().n_vocab), 0, 0, true);
  auto r1 = model().forward(bad_token, *cache, pool);
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.status().message().find("outside the vocabulary"), std::string::npos);

  Batch bad_pos;
  bad_pos.add(1, 8, 0, true);
  auto r2 = model().forward(bad_pos, *cache, pool);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("outside the context"), std::string::npos);

  Batch bad_seq;
  bad_seq.add(1, 0, 3, true);
  EXPECT_FALSE(model().forward(bad_seq, *cache, pool).ok());
  EXPECT_FALSE(model().forward(Batch{}, *cache, pool).ok());
}

INSTANTIATE_TEST_SUITE_P(Models, LlamaForward,
                         ::testing::Values("models/stories260K.gguf",
                                           "models/synthetic/mini-llama-random-q4_k_m.gguf",
                                           "models/synthetic/mini-llama-random-q8_0.gguf",
                                           "models/synthetic/mini-llama-random-f16.gguf"));

}  // namespace
}  // namespace tenbin
