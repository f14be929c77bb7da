// Properties of the forward pass beyond the reference outputs: a prompt run as one batch gives
// the same logits, bit for bit, as the same tokens run one at a time; a sequence's logits do
// not depend on which other sequences share its batch nor on which KV cache blocks it holds
// (interleaved, out-of-order block tables); output rows selected or drawn by the backend are
// what the host computes from whole rows; bad batches are refused with precise messages.
#include <cctype>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/loaded_model.h"
#include "test_data.h"

namespace tenbin {
namespace {

const std::vector<int32_t> kPromptA = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};
const std::vector<int32_t> kPromptB = {1, 291, 280, 294, 262, 294, 353};

// A model, and the KV cache type its caches are made with.
struct ForwardCase {
  const char* model;
  DType kv_type;
};

class LlamaForward : public ::testing::TestWithParam<ForwardCase> {
 protected:
  void SetUp() override {
    auto m = LoadedModel::load(test::shared_path(GetParam().model));
    ASSERT_TRUE(m.ok()) << m.status().message();
    loaded_ = std::move(*m);
  }
  LlamaModel& model() { return *loaded_.model; }
  Expected<KvCache> make_cache(int64_t n_blocks, int64_t block_size = 16) {
    return model().make_kv_cache(n_blocks, GetParam().kv_type, block_size);
  }
  // The whole output rows of `batch` (of at most 4 blocks) run into a cache of its own; empty
  // (with a failed expectation) when the forward fails.
  std::vector<float> whole_rows(const Batch& batch, ThreadPool& pool);
  LoadedModel loaded_;
};

std::vector<float> run(LlamaModel& model, const Batch& batch, KvCache& cache, ThreadPool& pool) {
  auto out = model.forward(batch, cache, pool);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : std::vector<float>{};
}

// Prompt A as one sequence in blocks 0..3, every other token an output row (6 of them).
Batch every_other_output() {
  Batch batch;
  const int32_t seq = batch.add_block_table({0, 1, 2, 3});
  for (size_t i = 0; i < kPromptA.size(); ++i) batch.add(kPromptA[i], i, seq, i % 2 == 1);
  return batch;
}

std::vector<float> LlamaForward::whole_rows(const Batch& batch, ThreadPool& pool) {
  auto cache = make_cache(4);
  EXPECT_TRUE(cache.ok()) << cache.status().message();
  return cache.ok() ? run(model(), batch, *cache, pool) : std::vector<float>{};
}

TEST_P(LlamaForward, PrefillBatchEqualsTokenByToken) {
  ThreadPool pool(2);
  const int64_t vocab = model().config().n_vocab;
  auto cache_a = make_cache(4);
  ASSERT_TRUE(cache_a.ok());
  Batch batch;
  const int32_t seq = batch.add_block_table({0, 1, 2, 3});
  for (size_t i = 0; i < kPromptA.size(); ++i) batch.add(kPromptA[i], i, seq, true);
  std::vector<float> all = run(model(), batch, *cache_a, pool);
  ASSERT_EQ(all.size(), kPromptA.size() * vocab);

  auto cache_b = make_cache(4);
  for (size_t i = 0; i < kPromptA.size(); ++i) {
    Batch one;
    one.add(kPromptA[i], i, one.add_block_table({0, 1, 2, 3}), true);
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
  auto alone_cache = make_cache(8);
  Batch alone;
  const int32_t alone_seq = alone.add_block_table({4, 5, 6, 7});
  for (size_t i = 0; i < kPromptB.size(); ++i) alone.add(kPromptB[i], i, alone_seq, true);
  std::vector<float> expected = run(model(), alone, *alone_cache, pool);

  // Interleaved with another sequence in one batch.
  auto shared_cache = make_cache(8);
  Batch mixed;
  const int32_t seq_a = mixed.add_block_table({0, 1, 2, 3});
  const int32_t seq_b = mixed.add_block_table({4, 5, 6, 7});
  std::vector<size_t> b_rows;
  for (size_t i = 0; i < kPromptA.size(); ++i) {
    mixed.add(kPromptA[i], i, seq_a, true);
    if (i < kPromptB.size()) {
      b_rows.push_back(mixed.size());
      mixed.add(kPromptB[i], i, seq_b, true);
    }
  }
  std::vector<float> got = run(model(), mixed, *shared_cache, pool);
  for (size_t i = 0; i < kPromptB.size(); ++i) {
    for (int64_t v = 0; v < vocab; ++v) {
      ASSERT_EQ(got[b_rows[i] * vocab + v], expected[i * vocab + v]) << "token " << i;
    }
  }
}

// Two sequences whose blocks interleave out of order in the pool (block size 4, so each
// prompt spans several blocks, the last one partial) get bitwise the logits they get alone in
// blocks 0, 1, 2, ...; the second sequence also decodes one more token across a block edge.
TEST_P(LlamaForward, InterleavedBlockTablesGiveTheLogitsOfContiguousOnes) {
  ThreadPool pool(2);
  const int64_t vocab = model().config().n_vocab;
  const int64_t bs = 4;
  auto alone = [&](const std::vector<int32_t>& prompt) {
    auto cache = make_cache(8, bs);
    EXPECT_TRUE(cache.ok());
    Batch b;
    const int32_t seq = b.add_block_table(contiguous_block_table(prompt.size(), bs));
    for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], i, seq, true);
    return run(model(), b, *cache, pool);
  };
  const std::vector<float> want_a = alone(kPromptA), want_b = alone(kPromptB);

  auto cache = make_cache(9, bs);
  ASSERT_TRUE(cache.ok());
  Batch mixed;  // A: 12 tokens in blocks 7, 2, 4; B: 7 tokens in blocks 5, 0
  const int32_t seq_b = mixed.add_block_table({5, 0});
  const int32_t seq_a = mixed.add_block_table({7, 2, 4});
  std::vector<size_t> a_rows, b_rows;
  for (size_t i = 0; i < kPromptA.size(); ++i) {
    if (i < kPromptB.size()) {
      b_rows.push_back(mixed.size());
      mixed.add(kPromptB[i], i, seq_b, true);
    }
    a_rows.push_back(mixed.size());
    mixed.add(kPromptA[i], i, seq_a, true);
  }
  const std::vector<float> got = run(model(), mixed, *cache, pool);
  ASSERT_EQ(got.size(), mixed.size() * vocab);
  for (size_t i = 0; i < kPromptA.size(); ++i) {
    for (int64_t v = 0; v < vocab; ++v) {
      ASSERT_EQ(got[a_rows[i] * vocab + v], want_a[i * vocab + v]) << "A token " << i;
    }
  }
  for (size_t i = 0; i < kPromptB.size(); ++i) {
    for (int64_t v = 0; v < vocab; ++v) {
      ASSERT_EQ(got[b_rows[i] * vocab + v], want_b[i * vocab + v]) << "B token " << i;
    }
  }

  // One decode step of B at position 7 (the last slot of its second block): the same logits as
  // B's prompt plus that token run alone in contiguous blocks.
  const int32_t next = kPromptA[3];
  std::vector<int32_t> b_long = kPromptB;
  b_long.push_back(next);
  const std::vector<float> want_step = alone(b_long);
  Batch step;
  step.add(next, static_cast<int32_t>(kPromptB.size()), step.add_block_table({5, 0}), true);
  const std::vector<float> got_step = run(model(), step, *cache, pool);
  ASSERT_EQ(got_step.size(), static_cast<size_t>(vocab));
  for (int64_t v = 0; v < vocab; ++v) {
    ASSERT_EQ(got_step[v], want_step[kPromptB.size() * vocab + v]) << "B decode";
  }
}

std::string forward_error(LlamaModel& model, const Batch& batch, KvCache& cache) {
  ThreadPool pool(1);
  auto r = model.forward(batch, cache, pool);
  return r.ok() ? "ok" : r.status().message();
}

TEST_P(LlamaForward, RefusesBadBatches) {
  auto cache = make_cache(2, 4);  // blocks 0 and 1 of 4 tokens
  ASSERT_TRUE(cache.ok());
  Batch bad_token;
  bad_token.add(static_cast<int32_t>(model().config().n_vocab), 0, bad_token.add_block_table({0}),
                true);
  EXPECT_NE(forward_error(model(), bad_token, *cache).find("outside the vocabulary"),
            std::string::npos);

  Batch bad_pos;  // position 8 needs a third table entry
  bad_pos.add(1, 8, bad_pos.add_block_table({0, 1}), true);
  EXPECT_EQ(forward_error(model(), bad_pos, *cache),
            "token 0 at position 8 of sequence 0 is outside its block table (2 blocks of 4 "
            "tokens cover positions 0..7)");

  Batch negative_pos;
  negative_pos.add(1, -1, negative_pos.add_block_table({0}), true);
  EXPECT_NE(forward_error(model(), negative_pos, *cache).find("outside its block table"),
            std::string::npos);

  Batch bad_seq;
  bad_seq.add_block_table({0});
  bad_seq.add(1, 0, 3, true);
  EXPECT_EQ(forward_error(model(), bad_seq, *cache),
            "token 0 has sequence id 3 but the batch has 1 block tables");

  Batch no_table;
  no_table.add(1, 0, 0, true);
  EXPECT_NE(forward_error(model(), no_table, *cache).find("has 0 block tables"), std::string::npos);

  Batch bad_block;
  bad_block.add(1, 0, bad_block.add_block_table({1, 2}), true);
  EXPECT_EQ(forward_error(model(), bad_block, *cache),
            "block table of sequence 0 has block id 2 at index 1, outside the KV cache's 2 "
            "blocks");

  EXPECT_EQ(forward_error(model(), Batch{}, *cache), "empty batch");
}

// Output rows returned as OutputSelect asks (the backend's select_top_k): whole, the best
// tokens after edits, a drawn token, and a draw that needs the sorted row, whose edited row
// fetch_row then gives; each equals what the host computes from the whole rows.
TEST_P(LlamaForward, OutputSelectionsReturnWhatTheHostComputes) {
  ThreadPool pool(2);
  const int64_t vocab = model().config().n_vocab;
  const Batch batch = every_other_output();
  const std::vector<float> whole = whole_rows(batch, pool);
  const size_t n_out = batch.n_outputs();
  ASSERT_EQ(n_out, 6u);
  ASSERT_EQ(whole.size(), n_out * static_cast<size_t>(vocab));

  std::vector<OutputSelect> select(n_out);
  const std::vector<kernels::LogitEdit> edits = {{3, 2.5f, 1.0f, 0.0f}, {5, 0.0f, 1.3f, 0.4f}};
  select[1].top_k = 1;
  select[2].top_k = 5;
  select[3].top_k = kernels::kDrawFromRow;
  select[3].draw.u = 0.37;
  select[4].top_k = kernels::kDrawFromRow;  // a nucleus of nearly every token: the sorted row
  select[4].draw = {100.0f, 0.999f, 0.0f, 0.0f, 0.5};
  select[5].top_k = 3;
  for (size_t i = 1; i < n_out; ++i) select[i].edits = edits;
  auto cache_b = make_cache(4);
  ASSERT_TRUE(cache_b.ok());
  auto out = model().forward(batch, *cache_b, pool, select);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->max_k, 5);
  ASSERT_FALSE(out->selected(0));
  EXPECT_EQ(std::vector<float>(out->row(0).begin(), out->row(0).end()),
            std::vector<float>(whole.begin(), whole.begin() + vocab));
  for (size_t i = 1; i < n_out; ++i) {
    ASSERT_TRUE(out->selected(i));
    std::vector<float> edited(whole.begin() + i * vocab, whole.begin() + (i + 1) * vocab);
    kernels::apply_logit_edits(edited.data(), vocab, edits.data(), 2);
    const auto got = out->best_of(i, select[i].best_entries());
    if (select[i].top_k > 0) {
      std::vector<kernels::TokenCandidate> want(select[i].top_k);
      kernels::select_top_k(edited.data(), vocab, select[i].top_k, want.data());
      for (int32_t j = 0; j < select[i].top_k; ++j) {
        EXPECT_EQ(got[j].token, want[j].token) << i;
        EXPECT_EQ(got[j].logit, want[j].logit) << i;
      }
      continue;
    }
    EXPECT_EQ(got[0].token, kernels::draw_over_row(edited.data(), vocab, select[i].draw)) << i;
    if (i == 4) {
      EXPECT_EQ(got[0].token, kernels::kDrawNeedsSortedRow);
      std::vector<float> fetched(static_cast<size_t>(vocab));
      ASSERT_TRUE(model().fetch_row(static_cast<int64_t>(i), fetched).ok());
      EXPECT_EQ(fetched, edited);
    }
  }

  select[1].top_k = kernels::kMaxSelectK + 1;
  auto refused = model().forward(batch, *cache_b, pool, select);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "top_k 257 to select is outside 0..256");
  select.pop_back();
  refused = model().forward(batch, *cache_b, pool, select);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "5 output selections for 6 output rows");
}

// Rows that ask for logprobs, selected or whole, get the report of their raw rows (before the
// edits the backend or the host applies) and the raw logits of their edited tokens; rows that
// do not ask get none.
TEST_P(LlamaForward, LogprobsReportTheRawRows) {
  ThreadPool pool(2);
  const int64_t vocab = model().config().n_vocab;
  const Batch batch = every_other_output();
  const std::vector<float> whole = whole_rows(batch, pool);
  const size_t n_out = batch.n_outputs();
  ASSERT_EQ(n_out, 6u);
  ASSERT_EQ(whole.size(), n_out * static_cast<size_t>(vocab));

  // Token 3 edited twice (its raw logit is the one before the first edit), 5 once.
  const std::vector<kernels::LogitEdit> edits = {
      {3, 2.5f, 1.0f, 0.0f}, {5, 0.0f, 1.3f, 0.4f}, {3, 0.0f, 1.0f, 1.0f}};
  std::vector<OutputSelect> select(n_out);
  const int32_t top_k[] = {0, 1, kernels::kDrawFromRow, 5, 0, 3};
  const int32_t logprobs[] = {3, 0, kernels::kMaxLogprobs, -1, -1, 5};
  for (size_t i = 0; i < n_out; ++i) {
    select[i].top_k = top_k[i];
    select[i].logprobs = logprobs[i];
    select[i].edits = edits;
    select[i].draw.u = 0.25;
  }
  auto cache_b = make_cache(4);
  ASSERT_TRUE(cache_b.ok());
  auto out = model().forward(batch, *cache_b, pool, select);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->logprobs.size(), n_out);
  for (size_t i = 0; i < n_out; ++i) {
    const float* raw = whole.data() + i * vocab;
    if (!out->selected(i)) {  // whole rows come back unedited, for the host to sample
      EXPECT_EQ(std::vector<float>(out->row(i).begin(), out->row(i).end()),
                std::vector<float>(raw, raw + vocab))
          << i;
    }
    if (logprobs[i] < 0) continue;
    kernels::RowLogprobs want;
    kernels::row_logprobs(raw, vocab, logprobs[i], &want);
    const kernels::RowLogprobs& got = out->logprobs_of(i);
    EXPECT_EQ(got.log_z, want.log_z) << i;
    ASSERT_EQ(got.n_top, logprobs[i]) << i;
    for (int32_t j = 0; j < got.n_top; ++j) {
      EXPECT_EQ(got.top[j].token, want.top[j].token) << i;
      EXPECT_EQ(got.top[j].logit, want.top[j].logit) << i;
    }
    EXPECT_EQ(out->raw_logit(i, edits, 3, -7.0f), raw[3]) << i;
    EXPECT_EQ(out->raw_logit(i, edits, 5, -7.0f), raw[5]) << i;
    EXPECT_EQ(out->raw_logit(i, edits, 4, -7.0f), -7.0f) << i;  // not edited: as it came
  }

  select[0].logprobs = kernels::kMaxLogprobs + 1;
  auto refused = model().forward(batch, *cache_b, pool, select);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "21 logprobs asked for; at most 20");
}

TEST(KvCacheSizing, BlocksFromAByteBudget) {
  KvCacheOptions o;
  o.n_layer = 2;
  o.kv_dim = 8;
  o.block_size = 16;
  EXPECT_EQ(KvCache::block_bytes(o), 2 * 2 * 16 * 8 * 2);  // f16
  auto cache = KvCache::create_for_bytes(o, 3 * 1024 + 100);
  ASSERT_TRUE(cache.ok()) << cache.status().message();
  EXPECT_EQ(cache->n_blocks(), 3);
  EXPECT_EQ(cache->n_slots(), 48);
  EXPECT_EQ(cache->bytes(), 3u * 1024);
  auto none = KvCache::create_for_bytes(o, 1000);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("holds no block"), std::string::npos)
      << none.status().message();
  EXPECT_EQ(contiguous_block_table(33, 16), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(KvCache::blocks_for(32), 2);
}

std::string case_name(const ::testing::TestParamInfo<ForwardCase>& info) {
  std::string name = info.param.model;
  name = name.substr(name.rfind('/') + 1);
  name = name.substr(0, name.find(".gguf")) + "_kv_" + std::string(dtype_name(info.param.kv_type));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Models, LlamaForward,
    ::testing::Values(ForwardCase{"models/stories260K.gguf", DType::kF16},
                      ForwardCase{"models/synthetic/mini-llama-random-q4_k_m.gguf", DType::kF16},
                      ForwardCase{"models/synthetic/mini-llama-random-q8_0.gguf", DType::kF16},
                      ForwardCase{"models/synthetic/mini-llama-random-f16.gguf", DType::kF16},
                      // A quantized cache keeps every property (head size 32: one group).
                      ForwardCase{"models/synthetic/mini-llama-random-q4_k_m.gguf", DType::kQ8_0},
                      ForwardCase{"models/synthetic/mini-llama-random-f16.gguf", DType::kQ8_0},
                      // So does a BF16 cache (pairs of values; head size 8 as well as 32).
                      ForwardCase{"models/stories260K.gguf", DType::kBF16},
                      ForwardCase{"models/synthetic/mini-llama-random-q4_k_m.gguf", DType::kBF16}),
    case_name);

}  // namespace
}  // namespace tenbin
