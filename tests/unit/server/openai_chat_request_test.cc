// /v1/chat/completions request parsing: what the SDKs send, message forms, and every error.
#include <gtest/gtest.h>

#include "engine/grammar/grammar_matcher.h"
#include "server/openai/chat_request.h"

namespace tenbin::server::openai {
namespace {

ChatRequest parse_ok(std::string_view body) {
  auto r = parse_chat_request(body);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ChatRequest{};
}

RequestError parse_err(std::string_view body) {
  auto r = parse_chat_request(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? RequestError{} : r.error();
}

// Byte for byte what openai-node 4.x sends for
// client.chat.completions.create({model, messages, stream: true,
//                                 stream_options: {include_usage: true}}).
TEST(OpenAiChatRequest, OpenAiNodeStreamingRequest) {
  auto r =
      parse_ok(R"({"model":"stories260K","messages":[{"role":"system","content":"You are terse."},)"
               R"({"role":"user","content":"Hello!"}],"stream":true,)"
               R"("stream_options":{"include_usage":true}})");
  EXPECT_EQ(r.params.model, "stories260K");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[0].content, "You are terse.");
  EXPECT_EQ(r.messages[1].role, "user");
  EXPECT_EQ(r.messages[1].content, "Hello!");
  EXPECT_TRUE(r.params.stream);
  EXPECT_TRUE(r.params.include_usage);
  EXPECT_FALSE(r.params.max_tokens.has_value());  // until the context ends
  EXPECT_FLOAT_EQ(r.params.sampling.temperature, 1.0f);
  EXPECT_EQ(r.params.n, 1);
}

TEST(OpenAiChatRequest, LenientWithFieldsSdksSend) {
  auto r = parse_ok(R"({"model":"m","messages":[{"role":"user","content":"hi","name":"bob"}],
    "user":"u","logit_bias":{},"response_format":{"type":"text"},"parallel_tool_calls":true,
    "tools":[],"tool_choice":"none","metadata":{"a":"b"},"store":false,"modalities":["text"],
    "service_tier":"auto","stream":false})");
  EXPECT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.params.user, "u");
}

TEST(OpenAiChatRequest, MessageForms) {
  auto r = parse_ok(R"({"model":"m","messages":[
    {"role":"developer","content":"rules"},
    {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
    {"role":"assistant","content":null},
    {"role":"assistant","content":"ok","tool_calls":[]},
    {"role":"tool","content":"42","tool_call_id":"call_1"}]})");
  ASSERT_EQ(r.messages.size(), 5u);
  EXPECT_EQ(r.messages[0].role, "system");  // developer -> system
  EXPECT_EQ(r.messages[1].content, "a\nb");
  EXPECT_EQ(r.messages[2].role, "assistant");
  EXPECT_EQ(r.messages[2].content, "");
  EXPECT_EQ(r.messages[3].content, "ok");
  EXPECT_EQ(r.messages[4].role, "tool");
}

TEST(OpenAiChatRequest, MaxTokensAndLogprobs) {
  auto a = parse_ok(R"({"model":"m","messages":[{"role":"user","content":"x"}],
    "max_tokens":10,"max_completion_tokens":20,"logprobs":true,"top_logprobs":20,
    "seed":5,"priority":3,"ignore_eos":true,"top_k":5,"min_p":0.1,"repetition_penalty":1.2})");
  EXPECT_EQ(a.params.max_tokens, 20);
  EXPECT_TRUE(a.params.logprobs);
  EXPECT_EQ(a.params.top_logprobs, 20);
  EXPECT_EQ(a.params.sampling.seed, 5u);
  EXPECT_EQ(a.params.priority, 3);
  EXPECT_TRUE(a.params.ignore_eos);
  EXPECT_EQ(a.params.sampling.top_k, 5);
  EXPECT_TRUE(a.params.sampling.validate().ok());
  auto b = parse_ok(R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":7,
    "logprobs":false})");
  EXPECT_EQ(b.params.max_tokens, 7);
  EXPECT_FALSE(b.params.logprobs);
}

struct ErrorCase {
  const char* body;
  const char* param;
  const char* code;
};

TEST(OpenAiChatRequest, ValidationErrorsNameTheParam) {
  const ErrorCase cases[] = {
      {R"({"model":"m"})", "messages", "missing_required_parameter"},
      {R"({"messages":[{"role":"user","content":"x"}]})", "model", "missing_required_parameter"},
      {R"({"model":"m","messages":[]})", "messages", "invalid_value"},
      {R"({"model":"m","messages":{}})", "messages", "invalid_type"},
      {R"({"model":"m","messages":["hi"]})", "messages[0]", "invalid_type"},
      {R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role",
       "missing_required_parameter"},
      {R"({"model":"m","messages":[{"role":"bot","content":"x"}]})", "messages[0].role",
       "invalid_value"},
      {R"({"model":"m","messages":[{"role":1,"content":"x"}]})", "messages[0].role",
       "invalid_type"},
      {R"({"model":"m","messages":[{"role":"user"}]})", "messages[0].content",
       "missing_required_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":5}]})",
       "messages[1].content", "invalid_type"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url",)"
       R"("image_url":{"url":"x"}}]}]})",
       "messages[0].content[0].type", "unsupported_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})",
       "messages[0].content[0].text", "missing_required_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"text":"a"}]}]})",
       "messages[0].content[0].type", "missing_required_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":["a"]}]})", "messages[0].content[0]",
       "invalid_type"},
      {R"({"model":"m","messages":[{"role":"user","content":"x","foo":1}]})", "messages[0].foo",
       "unknown_parameter"},
      {R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c"}]}]})",
       "messages[0].tool_calls", "unsupported_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":2})",
       "top_logprobs", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,)"
       R"("top_logprobs":21})",
       "top_logprobs", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":1})", "logprobs",
       "invalid_type"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens",
       "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":"5"})",
       "max_completion_tokens", "invalid_type"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":100})", "n", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})",
       "tools", "unsupported_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required"})",
       "tool_choice", "unsupported_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
       R"("response_format":{"type":"xml"}})",
       "response_format.type", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
       R"("response_format":{"type":"json_schema"}})",
       "response_format.json_schema", "missing_required_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
       R"("response_format":{"type":"json_schema","json_schema":{"schema":{}}}})",
       "response_format.json_schema.name", "missing_required_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
       R"("response_format":{"type":"json_schema","json_schema":{"name":"a","schema":[]}}})",
       "response_format.json_schema.schema", "invalid_type"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":)"
       R"({"type":"json_schema","json_schema":{"name":"a","schema":{"type":"string","pattern":"a"}}}})",
       "response_format.json_schema.schema", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
       R"("response_format":{"type":"json_schema","json_schema":{"name":"a","foo":1}}})",
       "response_format.json_schema.foo", "unknown_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"grammar":"root ::= x"})",
       "grammar", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"grammar":"root ::= \"a\"",)"
       R"("guided_choice":["a"]})",
       "guided_choice", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
       R"("guided_grammar":"root ::= (\"a\"{0,4096}){0,4096}"})",
       "guided_grammar", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"guided_choice":[]})",
       "guided_choice", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"guided_choice":["a",""]})",
       "guided_choice[1]", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"guided_json":"{nope"})",
       "guided_json", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"guided_regex":"a+"})",
       "guided_regex", "unsupported_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":"text"})",
       "response_format", "invalid_type"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"parallel_tool_calls":1})",
       "parallel_tool_calls", "invalid_type"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"audio":{}})", "audio",
       "unsupported_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"echo":true})", "echo",
       "unknown_parameter"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]})",
       "stop", "invalid_value"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":-1})",
       "temperature", "invalid_value"},
  };
  for (const auto& c : cases) {
    auto e = parse_err(c.body);
    EXPECT_EQ(e.param, c.param) << c.body << " -> " << e.message;
    EXPECT_EQ(e.code, c.code) << c.body << " -> " << e.message;
  }
}

// The output constraints compile to grammars; a JSON schema keeps its properties' order.
TEST(OpenAiChatRequest, OutputConstraintsCompile) {
  const std::string messages = R"("model":"m","messages":[{"role":"user","content":"x"}])";
  for (const std::string& field : {std::string(R"("response_format":{"type":"text"})")}) {
    EXPECT_EQ(parse_ok("{" + messages + "," + field + "}").params.grammar, nullptr) << field;
  }
  for (const std::string& field : {
           std::string(R"("response_format":{"type":"json_object"})"),
           std::string(R"("response_format":{"type":"json_schema","json_schema":{"name":"p",)"
                       R"("strict":true,"schema":{"type":"object","properties":{"z":{"type":)"
                       R"("integer"},"a":{"type":"string"}},"required":["z","a"],)"
                       R"("additionalProperties":false}}})"),
           std::string(R"("response_format":{"type":"json_schema","json_schema":{"name":"any"}})"),
           std::string(R"("grammar":"root ::= \"yes\" | \"no\"")"),
           std::string(R"("guided_grammar":"root ::= [0-9]+")"),
           std::string(R"("guided_choice":["yes","no"])"),
           std::string(R"("json_schema":{"type":"integer"})"),
           std::string(R"("guided_json":"{\"type\":\"boolean\"}")"),
       }) {
    auto r = parse_ok("{" + messages + "," + field + "}");
    EXPECT_NE(r.params.grammar, nullptr) << field;
  }
  auto r = parse_ok("{" + messages +
                    R"(,"response_format":{"type":"json_schema","json_schema":{"name":"p",)"
                    R"("schema":{"type":"object","properties":{"z":{"type":"integer"},)"
                    R"("a":{"type":"string"}},"required":["z","a"]}}}})");
  ASSERT_NE(r.params.grammar, nullptr);
  grammar::GrammarMatcher in_order(r.params.grammar), sorted(r.params.grammar);
  EXPECT_TRUE(in_order.accept(R"({"z":1,"a":"b"})") && in_order.is_complete());
  EXPECT_FALSE(sorted.accept(R"({"a":"b")"));
}

}  // namespace
}  // namespace tenbin::server::openai
