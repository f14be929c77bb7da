// Grammar-constrained decoding through the serving engine with a real model (stories260K,
// which knows nothing of JSON): every output is a sentence of the grammar, the sequence stops
// when the sentence is complete, and a grammar the free output already satisfies changes
// nothing.
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/grammar/grammar_matcher.h"
#include "engine/grammar/json_schema_grammar.h"
#include "engine/grammar/token_constraint.h"
#include "engine/serving/serving_engine.h"
#include "model/kv_cache.h"
#include "model/loaded_model.h"
#include "unit/test_data.h"

namespace tenbin {
namespace {

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text;
  FinishEvent finish;
};

class ConstrainedDecodingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LoadedModel::load(test::shared_path("models/stories260K.gguf"));
    ASSERT_TRUE(m.ok()) << m.status().message();
    loaded_ = std::move(*m);
    ServingOptions o;
    o.threads = 2;
    o.kv_cache_bytes = 8 << 20;
    auto e = ServingEngine::create(*loaded_.model, *loaded_.tokenizer, o);
    ASSERT_TRUE(e.ok()) << e.status().message();
    engine_ = std::move(*e);
    engine_->start();
  }

  static std::shared_ptr<const grammar::Grammar> compile(const std::string& gbnf) {
    auto g = grammar::Grammar::parse(gbnf);
    EXPECT_TRUE(g.ok()) << g.status().message();
    return g.ok() ? std::make_shared<const grammar::Grammar>(std::move(*g)) : nullptr;
  }

  Outcome run(std::shared_ptr<const grammar::Grammar> g, int max_tokens, float temperature = 0,
              uint64_t seed = 0, bool ignore_eos = false, float presence_penalty = 0,
              ServingEngine* engine = nullptr) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto outcome = std::make_shared<Outcome>();
    auto detok = std::make_shared<StreamingDetokenizer>(*loaded_.tokenizer);
    GenerationRequest r;
    r.prompt = loaded_.tokenizer->encode("Once upon a time", true, false);
    r.max_tokens = max_tokens;
    r.sampling.temperature = temperature;
    r.sampling.top_k = 0;
    r.sampling.top_p = 1;
    r.sampling.min_p = 0;
    r.sampling.seed = seed;
    r.ignore_eos = ignore_eos;
    r.sampling.presence_penalty = presence_penalty;
    r.grammar = std::move(g);
    r.on_token = [outcome, detok](const TokenEvent& e) {
      outcome->tokens.push_back(e.token);
      outcome->text += detok->push(e.token);
      return false;
    };
    r.on_finish = [outcome, promise, detok](const FinishEvent& f) {
      outcome->text += detok->flush();
      outcome->finish = f;
      promise->set_value(*outcome);
    };
    EXPECT_EQ((engine != nullptr ? engine : engine_.get())->submit(std::move(r)).error,
              SubmitError::kNone);
    return promise->get_future().get();
  }

  // The constrained tokens as the engine drew them before sampling moved to the backend,
  // computed here without the engine: whole rows from the model, sample() on each, and a
  // refused draw sampled again from the masked row before the edits (sample() applies them).
  std::vector<int32_t> whole_row_reference(std::shared_ptr<const grammar::Grammar> g,
                                           int max_tokens, const SamplingParams& sampling) {
    LlamaModel& model = *loaded_.model;
    auto cache = model.make_kv_cache(8);
    EXPECT_TRUE(cache.ok());
    ThreadPool pool(2);
    const std::vector<int32_t> table = contiguous_block_table(cache->n_slots());
    grammar::TokenConstraint constraint(
        g, std::make_shared<const grammar::TokenBytes>(*loaded_.tokenizer), true);
    Sampler sampler(sampling);
    std::vector<int32_t> history = loaded_.tokenizer->encode("Once upon a time", true, false);
    const size_t prompt = history.size();
    std::vector<int32_t> generated;
    Batch batch;
    for (int step = 0; step < max_tokens; ++step) {
      batch.clear();
      const int32_t seq = batch.add_block_table(table);
      const size_t first = step == 0 ? 0 : history.size() - 1;
      for (size_t i = first; i < history.size(); ++i) {
        batch.add(history[i], static_cast<int32_t>(i), seq, i + 1 == history.size());
      }
      auto logits = model.forward(batch, *cache, pool);
      EXPECT_TRUE(logits.ok());
      const std::vector<float> raw = *logits;
      int32_t token = sampler.sample(*logits, history);
      if (!constraint.allows(token)) {
        *logits = raw;
        if (constraint.mask(*logits) == 0) break;
        token = sampler.sample(*logits, history);
      }
      if (loaded_.tokenizer->is_end_of_generation(token)) break;
      generated.push_back(token);
      constraint.accept(token);
      history.push_back(token);
      if (constraint.finished()) break;
    }
    EXPECT_GT(history.size(), prompt);
    return generated;
  }

  LoadedModel loaded_;
  std::unique_ptr<ServingEngine> engine_;
};

TEST_F(ConstrainedDecodingTest, JsonSchemaOutputsParseAndObeyTheSchema) {
  auto gbnf = grammar::json_schema_to_gbnf(nlohmann::ordered_json::parse(R"({
      "type":"object",
      "properties":{"name":{"type":"string","maxLength":8},
                    "age":{"type":"integer","minimum":0,"maximum":120},
                    "pet":{"enum":["cat","dog"]}},
      "required":["name","age","pet"]})"));
  ASSERT_TRUE(gbnf.ok()) << gbnf.status().message();
  auto g = compile(*gbnf);
  ASSERT_TRUE(g);
  for (uint64_t seed = 0; seed < 6; ++seed) {
    Outcome o = run(g, 120, seed == 0 ? 0.0f : 1.0f, seed);
    ASSERT_EQ(o.finish.reason, FinishReason::kStop) << seed << ": " << o.text;
    const auto doc = nlohmann::json::parse(o.text, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << seed << ": " << o.text;
    ASSERT_TRUE(doc.is_object()) << o.text;
    EXPECT_EQ(doc.size(), 3u) << o.text;
    ASSERT_TRUE(doc["name"].is_string()) << o.text;
    EXPECT_LE(doc["name"].get<std::string>().size(), 8u * 4) << o.text;
    ASSERT_TRUE(doc["age"].is_number_integer()) << o.text;
    EXPECT_GE(doc["age"].get<int>(), 0);
    EXPECT_LE(doc["age"].get<int>(), 120);
    EXPECT_TRUE(doc["pet"] == "cat" || doc["pet"] == "dog") << o.text;
  }
}

// A constrained row is drawn by the backend first and read whole only when the grammar refuses
// the draw; an engine with sample_on_host reads every row whole. Both draw the tokens of the
// whole-row recipe computed without the engine.
TEST_F(ConstrainedDecodingTest, DrawsOnTheBackendEqualDrawsFromWholeRows) {
  auto gbnf = grammar::json_schema_to_gbnf(nlohmann::ordered_json::parse(
      R"({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]})"));
  ASSERT_TRUE(gbnf.ok()) << gbnf.status().message();
  auto g = compile(*gbnf);
  ASSERT_TRUE(g);
  ServingOptions o;
  o.threads = 2;
  o.kv_cache_bytes = 8 << 20;
  o.sample_on_host = true;
  auto on_host = ServingEngine::create(*loaded_.model, *loaded_.tokenizer, o);
  ASSERT_TRUE(on_host.ok()) << on_host.status().message();
  (*on_host)->start();
  for (uint64_t seed = 0; seed < 4; ++seed) {
    const float temperature = seed == 0 ? 0.0f : 1.0f;
    const float penalty = seed % 2 == 1 ? 1.5f : 0.0f;  // edits applied once either way
    const Outcome on_backend = run(g, 60, temperature, seed, false, penalty);
    const Outcome whole = run(g, 60, temperature, seed, false, penalty, on_host->get());
    EXPECT_EQ(on_backend.tokens, whole.tokens) << seed << ": " << on_backend.text;
    SamplingParams sampling;
    sampling.temperature = temperature;
    sampling.top_k = 0;
    sampling.top_p = 1;
    sampling.min_p = 0;
    sampling.seed = seed;
    sampling.presence_penalty = penalty;
    EXPECT_EQ(on_backend.tokens, whole_row_reference(g, 60, sampling)) << seed;
    // A story model's own first draws are refused: the text is JSON.
    EXPECT_EQ(on_backend.text[on_backend.text.find_first_not_of(" \t\n")], '{');
  }
}

TEST_F(ConstrainedDecodingTest, ChoiceStopsWhenComplete) {
  auto g = compile(R"(root ::= " yes" | " no" | " maybe later")");
  ASSERT_TRUE(g);
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Outcome o = run(g, 50, 1.0f, seed);
    EXPECT_TRUE(o.text == " yes" || o.text == " no" || o.text == " maybe later") << o.text;
    EXPECT_EQ(o.finish.reason, FinishReason::kStop);
    EXPECT_LT(o.finish.completion_tokens, 50);
  }
}

TEST_F(ConstrainedDecodingTest, IgnoreEosRunsUntilTheGrammarEnds) {
  auto g = compile(R"(root ::= [a-z ,.]{1,40})");
  ASSERT_TRUE(g);
  Outcome o = run(g, 200, 0.0f, 0, /*ignore_eos=*/true);
  EXPECT_EQ(o.finish.reason, FinishReason::kStop) << o.text;
  EXPECT_EQ(o.text.size(), 40u) << o.text;  // stops exactly when no character may follow
  grammar::GrammarMatcher m(g);
  EXPECT_TRUE(m.accept(o.text) && m.is_complete()) << o.text;
}

TEST_F(ConstrainedDecodingTest, AGrammarTheFreeOutputMeetsChangesNothing) {
  const Outcome free_run = run(nullptr, 20);
  auto g = compile(R"(root ::= [^\x00]*)");
  ASSERT_TRUE(g);
  const Outcome constrained = run(g, 20);
  EXPECT_EQ(constrained.tokens, free_run.tokens);
  EXPECT_EQ(constrained.finish.reason, FinishReason::kLength);
}

// The full mask (a walk over the vocabulary in byte order, sharing prefixes) allows exactly the
// tokens that allows() accepts one by one, at every point of a JSON text.
TEST_F(ConstrainedDecodingTest, MaskEqualsTokenByTokenChecks) {
  auto g = compile(grammar::json_object_gbnf());
  ASSERT_TRUE(g);
  auto vocab = std::make_shared<const grammar::TokenBytes>(*loaded_.tokenizer);
  const std::string text = R"( {"name": "Lily", "age": 3, "toys": [1, 2.5, true, null], "x": {}})";
  for (bool allow_end : {true, false}) {
    grammar::TokenConstraint c(g, vocab, allow_end);
    grammar::GrammarMatcher walk(g);
    size_t checked = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
      std::vector<float> logits(loaded_.tokenizer->n_vocab(), 1.0f);
      const int64_t n = c.mask(logits);
      int64_t expected = 0;
      for (int32_t t = 0; t < loaded_.tokenizer->n_vocab(); ++t) {
        const bool ok = c.allows(t);
        expected += ok;
        ASSERT_EQ(ok, logits[t] == 1.0f) << "after " << text.substr(0, i) << " token " << t;
      }
      EXPECT_EQ(n, expected);
      checked += static_cast<size_t>(n);
      if (i == text.size()) break;
      // Advance by the one-byte token for the next character where there is one.
      const std::string next = text.substr(i, 1);
      int32_t token = -1;
      for (int32_t t = 0; t < vocab->size() && token < 0; ++t) {
        if (vocab->bytes(t) == next && c.allows(t)) token = t;
      }
      ASSERT_GE(token, 0) << "no token for " << next;
      c.accept(token);
    }
    EXPECT_GT(checked, 0u);
    EXPECT_TRUE(c.finished());
  }
}

}  // namespace
}  // namespace tenbin
