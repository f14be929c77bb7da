// The benchmark's inputs: command-line values, datasets, arrival times, request bodies and
// the reading of streamed chunks.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "bench/arrivals.h"
#include "bench/dataset.h"
#include "bench/request_body.h"
#include "bench/stream_accumulator.h"
#include "bench/value_parsing.h"
#include "unit/test_util.h"

namespace tenbin::bench {
namespace {

TEST(BenchValues, Durations) {
  EXPECT_DOUBLE_EQ(*parse_duration_s("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_duration_s("60s"), 60.0);
  EXPECT_DOUBLE_EQ(*parse_duration_s("2m"), 120.0);
  EXPECT_DOUBLE_EQ(*parse_duration_s("1.5"), 1.5);
  EXPECT_FALSE(parse_duration_s("fast").ok());
  EXPECT_FALSE(parse_duration_s("-1s").ok());
}

TEST(BenchValues, SloAndLists) {
  auto slo = parse_slo("ttft=500ms,tpot=50ms, e2el=2s");
  ASSERT_TRUE(slo.ok());
  EXPECT_DOUBLE_EQ(*slo->ttft_ms, 500.0);
  EXPECT_DOUBLE_EQ(*slo->tpot_ms, 50.0);
  EXPECT_DOUBLE_EQ(*slo->e2el_ms, 2000.0);
  EXPECT_FALSE(parse_slo("latency=1s").ok());
  EXPECT_FALSE(parse_slo("ttft").ok());
  auto list = parse_number_list("1,8, 32", false);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<double>{1, 8, 32}));
  EXPECT_TRUE(std::isinf((*parse_number_list("2,inf", true))[1]));
  EXPECT_FALSE(parse_number_list("2,inf", false).ok());
  EXPECT_FALSE(parse_number_list("0", false).ok());
}

TEST(BenchDataset, RandomLengthsStayInRange) {
  DatasetOptions o;
  o.input_len = 100;
  o.output_len = 50;
  o.range_ratio = 0.2;
  auto prompts = load_dataset(o, 200, 3);
  ASSERT_TRUE(prompts.ok());
  ASSERT_EQ(prompts->size(), 200u);
  bool varied = false;
  for (const BenchPrompt& p : *prompts) {
    EXPECT_GE(p.prompt_tokens, 80);
    EXPECT_LE(p.prompt_tokens, 120);
    EXPECT_GE(p.output_tokens, 40);
    EXPECT_LE(p.output_tokens, 60);
    // One word per nominal token.
    EXPECT_EQ(std::count(p.text.begin(), p.text.end(), ' ') + 1, p.prompt_tokens);
    varied |= p.prompt_tokens != (*prompts)[0].prompt_tokens;
  }
  EXPECT_TRUE(varied);
  // Same seed, same prompts; another seed, others.
  EXPECT_EQ((*load_dataset(o, 5, 3))[4].text, (*prompts)[4].text);
  EXPECT_NE((*load_dataset(o, 5, 4))[4].text, (*prompts)[4].text);
}

TEST(BenchDataset, PromptsFileAndShareGpt) {
  test::TempDir dir;
  const std::string jsonl = dir.file("p.jsonl");
  std::ofstream(jsonl) << R"({"prompt": "hello there", "output_len": 7})"
                       << "\n\n"
                       << R"({"messages": [{"role": "user", "content": "hi"}]})"
                       << "\n";
  DatasetOptions o;
  o.source = jsonl;
  o.output_len = 33;
  auto prompts = load_dataset(o, 4, 1);
  ASSERT_TRUE(prompts.ok()) << prompts.status().message();
  ASSERT_EQ(prompts->size(), 4u);  // cycled
  int with_messages = 0;
  for (const BenchPrompt& p : *prompts) {
    if (p.messages.is_array()) {
      ++with_messages;
      EXPECT_EQ(p.output_tokens, 33);
    } else {
      EXPECT_EQ(p.text, "hello there");
      EXPECT_EQ(p.output_tokens, 7);
    }
  }
  EXPECT_EQ(with_messages, 2);

  const std::string sharegpt = dir.file("s.json");
  std::ofstream(sharegpt) << R"([
    {"conversations": [{"from": "human", "value": "Tell me a story about a cat please."},
                       {"from": "gpt", "value": "Once upon a time there was a cat who sat."}]},
    {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}])";
  o.source = sharegpt;
  prompts = load_dataset(o, 2, 1);
  ASSERT_TRUE(prompts.ok()) << prompts.status().message();
  EXPECT_EQ((*prompts)[0].text,
            "Tell me a story about a cat please.");  // the short pair is skipped
  EXPECT_EQ((*prompts)[0].output_tokens,
            estimate_tokens("Once upon a time there was a cat who sat."));

  std::ofstream(jsonl) << "not json\n";
  o.source = jsonl;
  auto bad = load_dataset(o, 1, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(":1:"), std::string::npos);
}

TEST(BenchArrivals, GammaGapsHaveTheRequestedMeanAndSpread) {
  // Gamma(shape k, scale 1/(rate k)): mean 1/rate, coefficient of variation 1/sqrt(k).
  for (double burstiness : {1.0, 0.25, 4.0}) {
    ArrivalGaps gaps(5.0, burstiness, 11);
    const int n = 40000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
      const double g = gaps.next_s();
      sum += g;
      sum2 += g * g;
    }
    const double mean = sum / n, var = sum2 / n - mean * mean;
    EXPECT_NEAR(mean, 0.2, 0.2 * 0.03) << burstiness;
    EXPECT_NEAR(std::sqrt(var) / mean, 1.0 / std::sqrt(burstiness), 0.05) << burstiness;
  }
  ArrivalGaps unpaced(INFINITY, 1.0, 1);
  EXPECT_EQ(unpaced.next_s(), 0.0);
}

TEST(BenchRequestBody, StreamsWithUsageAndFixedLength) {
  BenchConfig c;
  c.model = "m";
  BenchPrompt p;
  p.text = "hello";
  p.output_tokens = 12;
  auto j = nlohmann::json::parse(request_body(c, p));
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["prompt"], "hello");
  EXPECT_EQ(j["max_tokens"], 12);
  EXPECT_EQ(j["stream"], true);
  EXPECT_EQ(j["stream_options"]["include_usage"], true);
  EXPECT_EQ(j["ignore_eos"], true);
  EXPECT_EQ(j["temperature"], 0.0);
  EXPECT_FALSE(j.contains("top_p") || j.contains("top_k") || j.contains("min_p") ||
               j.contains("logprobs") || j.contains("top_logprobs"));
  c.sampling.temperature = 1.0;
  c.sampling.top_k = 40;
  c.sampling.top_p = 0.9;
  c.sampling.min_p = 0.05;
  c.sampling.logprobs = 3;
  j = nlohmann::json::parse(request_body(c, p));
  EXPECT_EQ(j["temperature"], 1.0);
  EXPECT_EQ(j["top_k"], 40);
  EXPECT_EQ(j["top_p"], 0.9);
  EXPECT_EQ(j["min_p"], 0.05);
  EXPECT_EQ(j["logprobs"], 3);  // completions: the number
  EXPECT_FALSE(j.contains("top_logprobs"));
  c.endpoint = Endpoint::kChat;
  j = nlohmann::json::parse(request_body(c, p));
  EXPECT_EQ(j["logprobs"], true);  // chat: a flag and top_logprobs
  EXPECT_EQ(j["top_logprobs"], 3);
  EXPECT_FALSE(j.contains("prompt"));
  EXPECT_EQ(j["messages"][0]["content"], "hello");
  EXPECT_EQ(j["messages"][0]["role"], "user");
}

TEST(BenchStreamAccumulator, CountsOnlyTextCarryingChunks) {
  StreamAccumulator a;
  a.on_event(R"({"choices":[{"delta":{"role":"assistant","content":""}}],"usage":null})", 0.01);
  a.on_event(R"({"choices":[{"delta":{"content":"Hel"}}],"usage":null})", 0.10);
  a.on_event(R"({"choices":[{"delta":{"content":"lo"}}]})", 0.15);
  a.on_event(R"({"choices":[{"delta":{},"finish_reason":"length"}]})", 0.16);
  a.on_event(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}})", 0.17);
  a.on_event("[DONE]", 0.18);
  EXPECT_EQ(a.token_times_s(), (std::vector<double>{0.10, 0.15}));
  EXPECT_EQ(a.text(), "Hello");
  EXPECT_EQ(a.usage_prompt_tokens(), 5);
  EXPECT_EQ(a.usage_completion_tokens(), 2);
  EXPECT_TRUE(a.saw_done());
  EXPECT_TRUE(a.error().empty());

  StreamAccumulator b;
  b.on_event(R"({"error":{"message":"overloaded","type":"server_error"}})", 0.1);
  EXPECT_EQ(b.error(), "overloaded");
  StreamAccumulator c;
  c.on_event("{not json", 0.1);
  EXPECT_FALSE(c.error().empty());
}

}  // namespace
}  // namespace tenbin::bench
