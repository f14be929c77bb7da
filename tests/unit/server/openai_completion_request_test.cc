// /v1/completions request parsing: defaults, every prompt form, field mapping, and errors.
#include <gtest/gtest.h>

#include "server/openai/completion_request.h"

namespace tenbin::server::openai {
namespace {

CompletionRequest parse_ok(std::string_view body) {
  auto r = parse_completion_request(body);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : CompletionRequest{};
}

RequestError parse_err(std::string_view body) {
  auto r = parse_completion_request(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? RequestError{} : r.error();
}

TEST(OpenAiCompletionRequest, MinimalUsesOpenAiDefaults) {
  auto r = parse_ok(R"({"model":"m","prompt":"Once upon"})");
  EXPECT_EQ(r.params.model, "m");
  ASSERT_EQ(r.prompts.size(), 1u);
  EXPECT_FALSE(r.prompts[0].is_tokens);
  EXPECT_EQ(r.prompts[0].text, "Once upon");
  EXPECT_EQ(r.params.max_tokens, 16);
  EXPECT_EQ(r.params.n, 1);
  EXPECT_FALSE(r.params.stream);
  EXPECT_FALSE(r.params.logprobs);
  EXPECT_FALSE(r.echo);
  EXPECT_FALSE(r.params.has_seed);
  EXPECT_EQ(r.params.priority, 0);
  EXPECT_FLOAT_EQ(r.params.sampling.temperature, 1.0f);
  EXPECT_FLOAT_EQ(r.params.sampling.top_p, 1.0f);
  EXPECT_EQ(r.params.sampling.top_k, 0);
  EXPECT_FLOAT_EQ(r.params.sampling.min_p, 0.0f);
  EXPECT_FLOAT_EQ(r.params.sampling.repeat_penalty, 1.0f);
  EXPECT_TRUE(r.params.sampling.validate().ok());
}

TEST(OpenAiCompletionRequest, AllFieldsMapped) {
  auto r = parse_ok(R"({"model":"m","prompt":"x","max_tokens":64,"temperature":0,
    "top_p":0.9,"top_k":40,"min_p":0.05,"repetition_penalty":1.1,"presence_penalty":0.5,
    "frequency_penalty":-0.5,"seed":-7,"n":3,"stop":["\n","END"],"stream":true,
    "stream_options":{"include_usage":true},"logprobs":2,"echo":true,"ignore_eos":true,
    "priority":-5,"user":"u1","logit_bias":{"50256":-100,"7":2.5},"best_of":3,"suffix":null})");
  const auto& p = r.params;
  EXPECT_EQ(p.max_tokens, 64);
  EXPECT_FLOAT_EQ(p.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(p.sampling.top_p, 0.9f);
  EXPECT_EQ(p.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(p.sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.sampling.repeat_penalty, 1.1f);
  EXPECT_FLOAT_EQ(p.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(p.sampling.frequency_penalty, -0.5f);
  EXPECT_TRUE(p.has_seed);
  EXPECT_EQ(p.sampling.seed, static_cast<uint64_t>(-7));
  EXPECT_EQ(p.n, 3);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"\n", "END"}));
  EXPECT_TRUE(p.stream);
  EXPECT_TRUE(p.include_usage);
  EXPECT_TRUE(p.logprobs);
  EXPECT_EQ(p.top_logprobs, 2);
  EXPECT_TRUE(r.echo);
  EXPECT_TRUE(p.ignore_eos);
  EXPECT_EQ(p.priority, -5);
  EXPECT_EQ(p.user, "u1");
  EXPECT_EQ(p.sampling.logit_bias,
            (std::vector<std::pair<int32_t, float>>{{50256, -100.0f}, {7, 2.5f}}));
  EXPECT_TRUE(p.sampling.validate().ok());
}

TEST(OpenAiCompletionRequest, NullMeansDefault) {
  auto r = parse_ok(R"({"model":"m","prompt":"x","max_tokens":null,"temperature":null,
    "stop":null,"n":null,"logprobs":null,"stream":null,"seed":null})");
  EXPECT_EQ(r.params.max_tokens, 16);
  EXPECT_FLOAT_EQ(r.params.sampling.temperature, 1.0f);
  EXPECT_TRUE(r.params.stop.empty());
  EXPECT_FALSE(r.params.logprobs);
}

TEST(OpenAiCompletionRequest, StopAsStringAndEmptyStringsDropped) {
  EXPECT_EQ(parse_ok(R"({"model":"m","prompt":"x","stop":"###"})").params.stop,
            std::vector<std::string>{"###"});
  EXPECT_EQ(parse_ok(R"({"model":"m","prompt":"x","stop":["", "a"]})").params.stop,
            std::vector<std::string>{"a"});
}

TEST(OpenAiCompletionRequest, PromptForms) {
  auto tokens = parse_ok(R"({"model":"m","prompt":[1, 2, 3]})");
  ASSERT_EQ(tokens.prompts.size(), 1u);
  EXPECT_TRUE(tokens.prompts[0].is_tokens);
  EXPECT_EQ(tokens.prompts[0].tokens, (std::vector<int32_t>{1, 2, 3}));

  auto batch = parse_ok(R"({"model":"m","prompt":["a", "b"],"n":2})");
  ASSERT_EQ(batch.prompts.size(), 2u);
  EXPECT_EQ(batch.prompts[1].text, "b");

  auto token_batch = parse_ok(R"({"model":"m","prompt":[[5], [6, 7]]})");
  ASSERT_EQ(token_batch.prompts.size(), 2u);
  EXPECT_EQ(token_batch.prompts[1].tokens, (std::vector<int32_t>{6, 7}));

  EXPECT_EQ(parse_ok(R"({"model":"m","prompt":""})").prompts[0].text, "");
}

TEST(OpenAiCompletionRequest, TopPZeroMeansGreedyTopK) {
  auto r = parse_ok(R"({"model":"m","prompt":"x","top_p":0})");
  EXPECT_EQ(r.params.sampling.top_k, 1);
  EXPECT_TRUE(r.params.sampling.validate().ok());
}

TEST(OpenAiCompletionRequest, MaxTokensZeroOnlyWithEcho) {
  EXPECT_EQ(parse_ok(R"({"model":"m","prompt":"x","max_tokens":0,"echo":true})").params.max_tokens,
            0);
  EXPECT_EQ(parse_err(R"({"model":"m","prompt":"x","max_tokens":0})").param, "max_tokens");
}

struct ErrorCase {
  const char* body;
  const char* param;
  const char* code;
};

TEST(OpenAiCompletionRequest, ValidationErrorsNameTheParam) {
  const ErrorCase cases[] = {
      {R"({"prompt":"x"})", "model", "missing_required_parameter"},
      {R"({"model":"m"})", "prompt", "missing_required_parameter"},
      {R"({"model":3,"prompt":"x"})", "model", "invalid_type"},
      {R"({"model":"m","prompt":5})", "prompt", "invalid_type"},
      {R"({"model":"m","prompt":[]})", "prompt", "invalid_value"},
      {R"({"model":"m","prompt":[[]]})", "prompt[0]", "invalid_value"},
      {R"({"model":"m","prompt":["a", 3]})", "prompt[1]", "invalid_type"},
      {R"({"model":"m","prompt":[1, "a"]})", "prompt[1]", "invalid_type"},
      {R"({"model":"m","prompt":[1, -2]})", "prompt[1]", "invalid_value"},
      {R"({"model":"m","prompt":[[1], [2, 3.5]]})", "prompt[1][1]", "invalid_type"},
      {R"({"model":"m","prompt":"x","temperature":"hot"})", "temperature", "invalid_type"},
      {R"({"model":"m","prompt":"x","temperature":2.5})", "temperature", "invalid_value"},
      {R"({"model":"m","prompt":"x","top_p":1.5})", "top_p", "invalid_value"},
      {R"({"model":"m","prompt":"x","top_k":-2})", "top_k", "invalid_value"},
      {R"({"model":"m","prompt":"x","min_p":-0.1})", "min_p", "invalid_value"},
      {R"({"model":"m","prompt":"x","repetition_penalty":0})", "repetition_penalty",
       "invalid_value"},
      {R"({"model":"m","prompt":"x","presence_penalty":3})", "presence_penalty", "invalid_value"},
      {R"({"model":"m","prompt":"x","frequency_penalty":-2.5})", "frequency_penalty",
       "invalid_value"},
      {R"({"model":"m","prompt":"x","seed":"1"})", "seed", "invalid_type"},
      {R"({"model":"m","prompt":"x","n":0})", "n", "invalid_value"},
      {R"({"model":"m","prompt":"x","n":17})", "n", "invalid_value"},
      {R"({"model":"m","prompt":"x","n":1.5})", "n", "invalid_value"},
      {R"({"model":"m","prompt":"x","n":"2"})", "n", "invalid_type"},
      {R"({"model":"m","prompt":"x","max_tokens":-1})", "max_tokens", "invalid_value"},
      {R"({"model":"m","prompt":"x","max_tokens":"16"})", "max_tokens", "invalid_type"},
      {R"({"model":"m","prompt":"x","stop":5})", "stop", "invalid_type"},
      {R"({"model":"m","prompt":"x","stop":["a",1]})", "stop[1]", "invalid_type"},
      {R"({"model":"m","prompt":"x","stop":["a","b","c","d","e"]})", "stop", "invalid_value"},
      {R"({"model":"m","prompt":"x","stream":"yes"})", "stream", "invalid_type"},
      {R"({"model":"m","prompt":"x","stream_options":{"include_usage":true}})", "stream_options",
       "invalid_value"},
      {R"({"model":"m","prompt":"x","stream":true,"stream_options":{"include_usage":1}})",
       "stream_options.include_usage", "invalid_type"},
      {R"({"model":"m","prompt":"x","stream":true,"stream_options":{"foo":1}})",
       "stream_options.foo", "unknown_parameter"},
      {R"({"model":"m","prompt":"x","logprobs":6})", "logprobs", "invalid_value"},
      {R"({"model":"m","prompt":"x","logprobs":true})", "logprobs", "invalid_type"},
      {R"({"model":"m","prompt":"x","echo":1})", "echo", "invalid_type"},
      {R"({"model":"m","prompt":"x","ignore_eos":"true"})", "ignore_eos", "invalid_type"},
      {R"({"model":"m","prompt":"x","priority":1.5})", "priority", "invalid_value"},
      {R"({"model":"m","prompt":"x","priority":"high"})", "priority", "invalid_type"},
      {R"({"model":"m","prompt":"x","logit_bias":{"abc":-100}})", "logit_bias", "invalid_value"},
      {R"({"model":"m","prompt":"x","logit_bias":{"-3":1}})", "logit_bias", "invalid_value"},
      {R"({"model":"m","prompt":"x","logit_bias":{"5":100.5}})", "logit_bias", "invalid_value"},
      {R"({"model":"m","prompt":"x","logit_bias":{"5":"1"}})", "logit_bias", "invalid_type"},
      {R"({"model":"m","prompt":"x","logit_bias":[1]})", "logit_bias", "invalid_type"},
      {R"({"model":"m","prompt":"x","best_of":2})", "best_of", "unsupported_parameter"},
      {R"({"model":"m","prompt":"x","suffix":"end"})", "suffix", "unsupported_parameter"},
      {R"({"model":"m","prompt":"x","messages":[]})", "messages", "unknown_parameter"},
      {R"({"model":"m","prompt":["a","b","c","d","e"],"n":16})", "n", "invalid_value"},
  };
  for (const auto& c : cases) {
    auto e = parse_err(c.body);
    EXPECT_EQ(e.param, c.param) << c.body << " -> " << e.message;
    EXPECT_EQ(e.code, c.code) << c.body << " -> " << e.message;
    EXPECT_FALSE(e.message.empty());
  }
}

TEST(OpenAiCompletionRequest, TooManyBatchPrompts) {
  std::string body = R"({"model":"m","prompt":[)";
  for (int i = 0; i <= kMaxBatchPrompts; ++i) body += std::string(i ? "," : "") + "\"p\"";
  body += "]}";
  EXPECT_EQ(parse_err(body).param, "prompt");
}

TEST(OpenAiCompletionRequest, MalformedBodies) {
  for (const char* body : {"", "  ", "{", "{\"model\":}", "[1,2]", "\"text\"", "null", "{} x"}) {
    auto e = parse_err(body);
    EXPECT_EQ(e.param, "") << body;
    EXPECT_EQ(e.code, "invalid_json") << body;
  }
}

TEST(OpenAiCompletionRequest, ErrorResponseIsOpenAiShape) {
  auto e = parse_err(R"({"model":"m","prompt":"x","n":99})");
  auto response = e.response();
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find(R"("param":"n")"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find(R"("type":"invalid_request_error")"), std::string::npos);
  EXPECT_FALSE(e.status().ok());
}

}  // namespace
}  // namespace tenbin::server::openai
