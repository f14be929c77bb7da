// The serving engine with a real model: greedy outputs equal llama.cpp's reference and do not
// depend on which requests share a batch; cancellation, stop callbacks, admission limits and
// the prefix cache behave as the server relies on.
#include "engine/serving/serving_engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/backend_registry.h"
#include "engine/grammar/grammar.h"
#include "model/loaded_model.h"
#include "unit/test_data.h"
#include "util/thread_pool.h"

namespace tenbin {
namespace {

struct Outcome {
  std::vector<int32_t> tokens;
  std::vector<TokenEvent> events;
  FinishEvent finish;
};

class ServingEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LoadedModel::load(test::shared_path("models/stories260K.gguf"));
    ASSERT_TRUE(m.ok()) << m.status().message();
    loaded_ = std::move(*m);
  }

  std::unique_ptr<ServingEngine> make(ServingOptions o = {}) {
    o.threads = 2;
    o.kv_cache_bytes = 8 << 20;
    auto e = ServingEngine::create(*loaded_.model, *loaded_.tokenizer, o);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? std::move(*e) : nullptr;
  }

  // Submits a greedy request (or one with `sampling`); the future resolves when it finishes.
  std::future<Outcome> submit(ServingEngine& engine, const std::string& prompt, int max_tokens,
                              SubmitResult* result = nullptr, int stop_after = -1,
                              const SamplingParams* sampling = nullptr, int logprobs = -1,
                              std::shared_ptr<const grammar::Grammar> grammar = nullptr) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto outcome = std::make_shared<Outcome>();
    GenerationRequest r;
    r.prompt = loaded_.tokenizer->encode(prompt, true, false);
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0;
    if (sampling != nullptr) r.sampling = *sampling;
    r.logprobs = logprobs;
    r.grammar = std::move(grammar);
    r.on_token = [outcome, stop_after](const TokenEvent& e) {
      outcome->tokens.push_back(e.token);
      outcome->events.push_back(e);
      return stop_after > 0 && static_cast<int>(outcome->tokens.size()) >= stop_after;
    };
    r.on_finish = [outcome, promise](const FinishEvent& f) {
      outcome->finish = f;
      promise->set_value(*outcome);
    };
    SubmitResult s = engine.submit(std::move(r));
    if (result) *result = s;
    if (s.error != SubmitError::kNone) promise->set_value(*outcome);
    return promise->get_future();
  }

  LoadedModel loaded_;
};

const std::vector<int32_t> kOnceUponATime = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317,
                                             426, 338, 401, 396, 267, 337, 410, 408, 419, 292};

TEST_F(ServingEngineTest, GreedyMatchesReference) {
  auto engine = make();
  engine->start();
  Outcome o = submit(*engine, "Once upon a time", 20).get();
  EXPECT_EQ(o.tokens, kOnceUponATime);
  EXPECT_EQ(o.finish.reason, FinishReason::kLength);
  EXPECT_EQ(o.finish.completion_tokens, 20);
  EXPECT_EQ(o.finish.prompt_tokens, 5);
}

TEST_F(ServingEngineTest, ConcurrentRequestsGetTheirAloneTokens) {
  const std::vector<std::string> prompts = {
      "Once upon a time",    "The little dog",  "Mom said",           "Lily and Tom went",
      "One day, a big bird", "The sun was hot", "Tim had a red ball", "She ran"};
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = make();
    engine->start();
    for (const auto& p : prompts) alone.push_back(submit(*engine, p, 24).get().tokens);
  }
  ServingOptions o;
  o.max_batch_tokens = 64;  // forces chunked prefill next to decodes
  auto engine = make(o);
  std::vector<std::future<Outcome>> futures;
  for (int round = 0; round < 4; ++round) {
    for (const auto& p : prompts) futures.push_back(submit(*engine, p, 24));
  }
  engine->start();
  for (size_t i = 0; i < futures.size(); ++i) {
    EXPECT_EQ(futures[i].get().tokens, alone[i % prompts.size()]) << prompts[i % prompts.size()];
  }
}

// Seeded draws from the top 40 (selected on the device), hot enough to leave the greedy path,
// with penalties and a bias.
SamplingParams seeded_sampling(uint64_t seed) {
  SamplingParams p;
  p.seed = seed;
  p.temperature = 1.5f;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.repeat_penalty = 1.2f;
  p.presence_penalty = 0.3f;
  p.logit_bias = {{286, 2.0f}, {13, -100.0f}};
  return p;
}

// Every filter off, as OpenAI's defaults: the backend draws over the whole row.
SamplingParams openai_sampling(uint64_t seed) {
  SamplingParams p = seeded_sampling(seed);
  p.top_k = 0;
  return p;
}

// Every filter on but top-k 300: more than a backend selects, so the host samples the whole row.
SamplingParams wide_top_k_sampling(uint64_t seed) {
  SamplingParams p = seeded_sampling(seed);
  p.top_k = 300;
  return p;
}

// Requests whose rows are sampled in the same step in every way: greedy and top-k rows
// selected by the backend, top-k-off rows drawn by it, logprobs reported by it for such rows,
// wide top-k rows read whole; each gets the tokens it gets alone, and the same tokens as an
// engine that samples every row on the host from the whole row (sample_on_host).
TEST_F(ServingEngineTest, SelectedAndWholeRowsMixInOneStep) {
  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Mom said"};
  const SamplingParams top_k = seeded_sampling(2), filters_off = openai_sampling(3),
                       wide = wide_top_k_sampling(4);
  constexpr size_t kModes = 6;
  auto run = [&](ServingEngine& engine, size_t i) {
    const std::string& p = prompts[i / kModes];
    switch (i % kModes) {
      case 0:
        return submit(engine, p, 16);
      case 1:
        return submit(engine, p, 16, nullptr, -1, &top_k);
      case 2:
        return submit(engine, p, 16, nullptr, -1, &top_k, 2);
      case 3:
        return submit(engine, p, 16, nullptr, -1, &filters_off);
      case 4:
        return submit(engine, p, 16, nullptr, -1, &filters_off, 0);
      default:
        return submit(engine, p, 16, nullptr, -1, &wide, 1);
    }
  };
  const size_t n = prompts.size() * kModes;
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = make();
    engine->start();
    for (size_t i = 0; i < n; ++i) alone.push_back(run(*engine, i).get().tokens);
  }
  for (const bool on_host : {false, true}) {
    ServingOptions o;
    o.sample_on_host = on_host;
    auto engine = make(o);
    std::vector<std::future<Outcome>> futures;
    for (size_t i = 0; i < n; ++i) futures.push_back(run(*engine, i));
    engine->start();
    for (size_t i = 0; i < futures.size(); ++i) {
      EXPECT_EQ(futures[i].get().tokens, alone[i]) << i << (on_host ? " on the host" : "");
    }
  }
  for (size_t i = 0; i < n; i += kModes) {
    EXPECT_NE(alone[i], alone[i + 1]);  // the draws are not the greedy tokens
    EXPECT_NE(alone[i], alone[i + 3]);
    EXPECT_NE(alone[i], alone[i + 5]);
    EXPECT_EQ(alone[i + 1], alone[i + 2]);  // reporting logprobs changes no draw
    EXPECT_EQ(alone[i + 3], alone[i + 4]);
  }
}

// log(softmax) of the raw logits at every position after the prompt's last token, computed
// here in double from the model's whole rows (one forward over prompt and completion).
std::vector<std::vector<double>> raw_log_softmax(LlamaModel& model,
                                                 const std::vector<int32_t>& prompt,
                                                 const std::vector<int32_t>& completion) {
  std::vector<int32_t> tokens = prompt;
  tokens.insert(tokens.end(), completion.begin(), completion.end());
  constexpr int32_t kBlock = 16;
  const auto n_blocks = static_cast<int32_t>(tokens.size() / kBlock + 1);
  auto cache = model.make_kv_cache(n_blocks, DType::kF16, kBlock);
  EXPECT_TRUE(cache.ok()) << cache.status().message();
  if (!cache.ok()) return {};
  Batch batch;
  std::vector<int32_t> table(static_cast<size_t>(n_blocks));
  for (int32_t b = 0; b < n_blocks; ++b) table[b] = b;
  const int32_t seq = batch.add_block_table(table);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool output = i + 1 >= prompt.size() && i + 1 < tokens.size();
    batch.add(tokens[i], static_cast<int32_t>(i), seq, output);
  }
  ThreadPool pool(2);
  auto logits = model.forward(batch, *cache, pool);
  EXPECT_TRUE(logits.ok()) << logits.status().message();
  if (!logits.ok()) return {};
  const int64_t n_vocab = model.config().n_vocab;
  std::vector<std::vector<double>> rows;
  for (size_t r = 0; r < completion.size(); ++r) {
    const float* row = logits->data() + r * n_vocab;
    double max_logit = row[0], sum = 0;
    for (int64_t i = 0; i < n_vocab; ++i) max_logit = std::max<double>(max_logit, row[i]);
    for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(row[i] - max_logit);
    std::vector<double> lp(static_cast<size_t>(n_vocab));
    for (int64_t i = 0; i < n_vocab; ++i) lp[i] = row[i] - max_logit - std::log(sum);
    rows.push_back(std::move(lp));
  }
  return rows;
}

// Logprobs, however the row was sampled (greedy, top-k selected on the backend, top-k off
// drawn by it, a wide top-k on the host, a grammar that refuses draws), are the log-softmax of
// the raw logits: the chosen token's, not the one its penalties and bias made, and the k most
// likely raw tokens. An engine sampling on the host reports the same, bit for bit.
TEST_F(ServingEngineTest, LogprobsAreTheRawRowsLogSoftmax) {
  auto parsed = grammar::Grammar::parse(R"(root ::= "{" [a-z ]{1,30} "}")");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const auto braces = std::make_shared<const grammar::Grammar>(std::move(*parsed));
  const SamplingParams top_k = seeded_sampling(5), filters_off = openai_sampling(6),
                       wide = wide_top_k_sampling(7);
  SamplingParams penalized_off = openai_sampling(8);  // edits on a row the backend draws from
  penalized_off.frequency_penalty = 1.5f;
  struct Case {
    const SamplingParams* sampling;
    int logprobs;
    std::shared_ptr<const grammar::Grammar> grammar;
  };
  const std::vector<Case> cases = {{nullptr, 5, nullptr},       {&top_k, 3, nullptr},
                                   {&filters_off, 20, nullptr}, {&penalized_off, 1, nullptr},
                                   {&wide, 4, nullptr},         {&filters_off, 2, braces},
                                   {&penalized_off, 0, nullptr}};
  const std::string prompt = "Once upon a time";
  std::vector<Outcome> outcomes[2];
  for (const bool on_host : {false, true}) {
    ServingOptions o;
    o.sample_on_host = on_host;
    auto engine = make(o);
    std::vector<std::future<Outcome>> futures;
    for (const Case& c : cases) {
      futures.push_back(
          submit(*engine, prompt, 24, nullptr, -1, c.sampling, c.logprobs, c.grammar));
    }
    engine->start();
    for (auto& f : futures) outcomes[on_host].push_back(f.get());
  }
  const std::vector<int32_t> prompt_tokens = loaded_.tokenizer->encode(prompt, true, false);
  int edited_tokens = 0;  // tokens whose edited logit is not their raw one
  for (size_t c = 0; c < cases.size(); ++c) {
    const Outcome& o = outcomes[0][c];
    ASSERT_FALSE(o.tokens.empty()) << c;
    const auto reference = raw_log_softmax(*loaded_.model, prompt_tokens, o.tokens);
    ASSERT_EQ(reference.size(), o.events.size()) << c;
    for (size_t t = 0; t < o.events.size(); ++t) {
      const TokenEvent& e = o.events[t];
      const std::vector<double>& want = reference[t];
      EXPECT_NEAR(e.logprob, want[e.token], 1e-4) << "case " << c << " token " << t;
      ASSERT_EQ(e.top.size(), static_cast<size_t>(cases[c].logprobs)) << c;
      std::vector<double> sorted = want;
      std::sort(sorted.begin(), sorted.end(), std::greater<>());
      for (size_t k = 0; k < e.top.size(); ++k) {
        EXPECT_NEAR(e.top[k].logprob, want[e.top[k].token], 1e-4) << c << " " << t << " " << k;
        EXPECT_NEAR(e.top[k].logprob, sorted[k], 1e-4) << c << " " << t << " " << k;
      }
      if (cases[c].sampling != nullptr) {  // penalties over the tokens so far, or a bias
        const bool seen =
            std::count(prompt_tokens.begin(), prompt_tokens.end(), e.token) > 0 ||
            std::count(o.tokens.begin(), o.tokens.begin() + static_cast<int64_t>(t), e.token) > 0;
        const bool biased =
            std::any_of(cases[c].sampling->logit_bias.begin(), cases[c].sampling->logit_bias.end(),
                        [&](const auto& b) { return b.first == e.token; });
        edited_tokens += seen || biased;
      }
      // The same events when the host sampled every row.
      const Outcome& host = outcomes[1][c];
      ASSERT_EQ(host.events.size(), o.events.size()) << c;
      EXPECT_EQ(host.events[t].token, e.token) << c << " " << t;
      EXPECT_EQ(host.events[t].logprob, e.logprob) << c << " " << t;
      ASSERT_EQ(host.events[t].top.size(), e.top.size());
      for (size_t k = 0; k < e.top.size(); ++k) {
        EXPECT_EQ(host.events[t].top[k].token, e.top[k].token) << c << " " << t << " " << k;
        EXPECT_EQ(host.events[t].top[k].logprob, e.top[k].logprob) << c << " " << t << " " << k;
      }
    }
  }
  EXPECT_GE(edited_tokens, 5);  // drawn tokens whose penalties or bias changed their logit
}

// The serving engine over the CUDA backend (a GPU, or the SIMT emulator through
// TENBIN_CUDA_PLUGIN): concurrent requests in chunked-prefill batches next to decodes, with a
// shared prefix served from the device's cache, get the CPU backend's greedy tokens and, within
// rounding, its logprobs, with and without a grammar; seeded draws whose top-k the device
// selects, or that it draws whole, or that a grammar refuses and the device's row is read back
// for, are those the host draws from the device's whole rows (an engine with sample_on_host),
// and so are their logprobs. Draws are not compared with the CPU's: logits that differ in the
// last bits move a draw that lands near a boundary. Skipped where no CUDA backend can be opened.
TEST_F(ServingEngineTest, CudaBackendServesConcurrentRequestsAsTheCpu) {
  const backend::DeviceSpec cuda{backend::DeviceSpec::Kind::kCuda, 0};
  if (auto probe = backend::open_backend(cuda); !probe.ok()) {
    GTEST_SKIP() << probe.status().message();
  }
  auto on_gpu = LoadedModel::load(test::shared_path("models/stories260K.gguf"), cuda);
  ASSERT_TRUE(on_gpu.ok()) << on_gpu.status().message();
  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Mom said",
                                            "Once upon a time, Lily", "The sun was hot"};
  // A grammar a story model's own draws break at once: its rows are read back and masked.
  auto parsed = grammar::Grammar::parse(R"(root ::= "{" [a-z ]{1,30} "}")");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const auto braces = std::make_shared<const grammar::Grammar>(std::move(*parsed));
  std::vector<Outcome> on_cpu;
  std::vector<int32_t> constrained_on_cpu;
  {
    auto engine = make();
    engine->start();
    for (const auto& p : prompts)
      on_cpu.push_back(submit(*engine, p, 20, nullptr, -1, nullptr, 5).get());
    constrained_on_cpu =
        submit(*engine, prompts[0], 40, nullptr, -1, nullptr, -1, braces).get().tokens;
  }
  const SamplingParams top_k = seeded_sampling(2), filters_off = openai_sampling(3);
  // Each request of a pass; [mode][prompt], then the constrained ones.
  enum Mode { kGreedy, kSelected, kDrawn, kDrawnLogprobs, kModes };
  struct Pass {
    std::vector<Outcome> by_mode[kModes];
    Outcome constrained, constrained_drawn;
  };
  auto run_pass = [&](bool sample_on_host) {
    ServingOptions o;
    o.threads = 2;
    o.kv_cache_bytes = 8 << 20;
    o.max_num_seqs = 24;
    o.max_batch_tokens = 24;  // chunked prefill next to decodes
    o.sample_on_host = sample_on_host;
    Pass pass;
    auto engine = ServingEngine::create(*on_gpu->model, *on_gpu->tokenizer, o);
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    if (!engine.ok()) return pass;
    std::vector<std::future<Outcome>> futures[kModes];
    for (const auto& p : prompts) {
      futures[kGreedy].push_back(submit(**engine, p, 20, nullptr, -1, nullptr, 5));
      futures[kSelected].push_back(submit(**engine, p, 20, nullptr, -1, &top_k));
      futures[kDrawn].push_back(submit(**engine, p, 20, nullptr, -1, &filters_off));
      futures[kDrawnLogprobs].push_back(submit(**engine, p, 20, nullptr, -1, &filters_off, 3));
    }
    auto constrained = submit(**engine, prompts[0], 40, nullptr, -1, nullptr, -1, braces);
    auto constrained_drawn = submit(**engine, prompts[0], 40, nullptr, -1, &filters_off, 2, braces);
    (*engine)->start();
    for (int m = 0; m < kModes; ++m) {
      for (auto& f : futures[m]) pass.by_mode[m].push_back(f.get());
    }
    pass.constrained = constrained.get();
    pass.constrained_drawn = constrained_drawn.get();
    return pass;
  };
  const Pass on_device = run_pass(false);
  const Pass on_host = run_pass(true);

  // The same events (tokens, and logprobs bit for bit: the device reports them either way).
  auto expect_same_events = [](const Outcome& a, const Outcome& b, const std::string& what) {
    EXPECT_EQ(a.tokens, b.tokens) << what;
    if (a.events.size() != b.events.size()) return;
    for (size_t t = 0; t < a.events.size(); ++t) {
      EXPECT_EQ(a.events[t].logprob, b.events[t].logprob) << what << " " << t;
      ASSERT_EQ(a.events[t].top.size(), b.events[t].top.size()) << what;
      for (size_t k = 0; k < a.events[t].top.size(); ++k) {
        EXPECT_EQ(a.events[t].top[k].token, b.events[t].top[k].token) << what << " " << t;
        EXPECT_EQ(a.events[t].top[k].logprob, b.events[t].top[k].logprob) << what << " " << t;
      }
    }
  };
  EXPECT_EQ(on_device.constrained.tokens, constrained_on_cpu);
  expect_same_events(on_device.constrained_drawn, on_host.constrained_drawn, "constrained");
  int drawn_apart = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Outcome& greedy = on_device.by_mode[kGreedy][i];
    EXPECT_EQ(greedy.tokens, on_cpu[i].tokens) << prompts[i];
    // The device's prefill GEMM rounds this F32 model's weights and activations to f16: its
    // logits, so its logprobs, differ from the CPU's by up to ~6e-3 (emulated).
    constexpr double kLogprobBound = 2e-2;
    if (greedy.events.size() == on_cpu[i].events.size()) {
      for (size_t t = 0; t < greedy.events.size(); ++t) {
        EXPECT_NEAR(greedy.events[t].logprob, on_cpu[i].events[t].logprob, kLogprobBound)
            << prompts[i];
        ASSERT_EQ(greedy.events[t].top.size(), 5u);
        for (size_t k = 0; k < 5; ++k) {
          EXPECT_NEAR(greedy.events[t].top[k].logprob, on_cpu[i].events[t].top[k].logprob,
                      kLogprobBound)
              << prompts[i] << " " << t << " " << k;
        }
      }
    }
    for (int m = kGreedy; m < kModes; ++m) {
      expect_same_events(on_device.by_mode[m][i], on_host.by_mode[m][i],
                         prompts[i] + " mode " + std::to_string(m));
    }
    // Reporting logprobs changes no draw.
    EXPECT_EQ(on_device.by_mode[kDrawn][i].tokens, on_device.by_mode[kDrawnLogprobs][i].tokens);
    drawn_apart += on_device.by_mode[kSelected][i].tokens != greedy.tokens &&
                   on_device.by_mode[kDrawn][i].tokens != greedy.tokens;
  }
  EXPECT_GT(drawn_apart, 0);  // the draws are not the greedy tokens
}

TEST_F(ServingEngineTest, StopCallbackAndCancellationFreeBlocks) {
  auto engine = make();
  engine->start();
  Outcome stopped = submit(*engine, "Once upon a time", 50, nullptr, 3).get();
  EXPECT_EQ(stopped.finish.reason, FinishReason::kStop);
  EXPECT_EQ(stopped.tokens.size(), 3u);

  SubmitResult r;
  auto pending = submit(*engine, "Once upon a time", 1000, &r);
  ASSERT_EQ(r.error, SubmitError::kNone);
  engine->cancel(r.id);
  Outcome cancelled = pending.get();
  EXPECT_EQ(cancelled.finish.reason, FinishReason::kCancelled);
  for (int i = 0; i < 100 && engine->stats().kv_usage > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(engine->stats().kv_usage, 0.0);
}

TEST_F(ServingEngineTest, AdmissionLimits) {
  ServingOptions o;
  o.max_waiting = 2;
  auto engine = make(o);  // not started: everything stays queued
  SubmitResult r1, r2, r3, too_long;
  auto f1 = submit(*engine, "Once", 4, &r1);
  auto f2 = submit(*engine, "Once", 4, &r2);
  auto f3 = submit(*engine, "Once", 4, &r3);
  EXPECT_EQ(r1.error, SubmitError::kNone);
  EXPECT_EQ(r2.error, SubmitError::kNone);
  EXPECT_EQ(r3.error, SubmitError::kQueueFull);
  submit(*engine, "Once", 5000, &too_long);
  EXPECT_EQ(too_long.error, SubmitError::kInvalid);
  EXPECT_NE(too_long.message.find("maximum context length"), std::string::npos);
  engine->start();
  EXPECT_EQ(f1.get().tokens.size(), 4u);
  EXPECT_EQ(f2.get().tokens.size(), 4u);
}

TEST_F(ServingEngineTest, SharedPrefixIsServedFromTheCache) {
  auto engine = make();
  engine->start();
  const std::string prefix =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
      "park with her friends. One day,";
  Outcome first = submit(*engine, prefix + " she saw a bird", 4).get();
  Outcome second = submit(*engine, prefix + " her mom said", 4).get();
  EXPECT_EQ(first.finish.cached_prompt_tokens, 0);
  EXPECT_GE(second.finish.cached_prompt_tokens, 16);
  EXPECT_GT(engine->stats().prefix_hit_tokens, 0);
}

// A Q8_0 cache in the serving engine (a model whose heads are whole 32-value groups): the same
// byte budget holds 32/17 as many blocks as F16, and requests batched together (chunked
// prefill next to decodes) get the tokens each gets alone.
TEST(ServingEngineQ8Kv, HoldsTwiceTheBlocksAndKeepsBatchInvariance) {
  auto loaded = LoadedModel::load(test::shared_path("models/synthetic/mini-llama-random-f16.gguf"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto make = [&](DType kv_type, int32_t max_batch_tokens) {
    ServingOptions o;
    o.threads = 2;
    o.kv_cache_bytes = 8 << 20;
    o.kv_type = kv_type;
    o.max_batch_tokens = max_batch_tokens;
    o.max_num_seqs = 4;
    auto e = ServingEngine::create(*loaded->model, *loaded->tokenizer, o);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? std::move(*e) : nullptr;
  };
  auto run = [&](ServingEngine& engine, const std::vector<std::string>& prompts) {
    std::vector<std::future<std::vector<int32_t>>> futures;
    for (const auto& p : prompts) {
      auto promise = std::make_shared<std::promise<std::vector<int32_t>>>();
      auto tokens = std::make_shared<std::vector<int32_t>>();
      GenerationRequest r;
      r.prompt = loaded->tokenizer->encode(p, true, false);
      r.max_tokens = 12;
      r.sampling.temperature = 0;
      r.on_token = [tokens](const TokenEvent& e) {
        tokens->push_back(e.token);
        return false;
      };
      r.on_finish = [tokens, promise](const FinishEvent&) { promise->set_value(*tokens); };
      futures.push_back(promise->get_future());
      EXPECT_EQ(engine.submit(std::move(r)).error, SubmitError::kNone);
    }
    engine.start();
    std::vector<std::vector<int32_t>> out;
    for (auto& f : futures) out.push_back(f.get());
    return out;
  };
  const auto f16 = make(DType::kF16, 512), q8 = make(DType::kQ8_0, 512);
  ASSERT_TRUE(f16 && q8);
  EXPECT_EQ(q8->stats().kv_blocks, f16->stats().kv_blocks * 32 / 17);

  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Mom said",
                                            "Lily and Tom went to the park"};
  std::vector<std::vector<int32_t>> alone;
  for (const auto& p : prompts) {
    auto engine = make(DType::kQ8_0, 512);
    alone.push_back(run(*engine, {p})[0]);
  }
  auto batched = make(DType::kQ8_0, 8);  // chunked prefill next to decodes
  const auto together = run(*batched, prompts);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(together[i].size(), 12u) << prompts[i];
    EXPECT_EQ(together[i], alone[i]) << prompts[i];
  }
}

}  // namespace
}  // namespace tenbin
