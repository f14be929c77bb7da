// Response objects and stream chunks: parsed back and compared field by field with OpenAI's
// shapes, plus ids, usage, logprobs and the models list.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/openai/responses.h"

namespace tenbin::server::openai {
namespace {

using json = nlohmann::json;

ResponseMeta meta(std::string id = "cmpl-abc") {
  return {std::move(id), 1700000000, "m"};
}

CompletionChoice completion_choice(int index, std::string text, FinishReason reason) {
  CompletionChoice c;
  c.index = index;
  c.text = std::move(text);
  c.finish_reason = reason;
  return c;
}

ChatChoice chat_choice(int index, std::string content, FinishReason reason) {
  ChatChoice c;
  c.index = index;
  c.content = std::move(content);
  c.finish_reason = reason;
  return c;
}

TEST(OpenAiResponses, IdsAndMeta) {
  const std::string a = make_response_id("chatcmpl-"), b = make_response_id("chatcmpl-");
  EXPECT_EQ(a.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(a.size(), 9u + 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 9), std::string::npos);
  EXPECT_NE(a, b);
  auto c = completion_meta("m");
  EXPECT_EQ(c.id.rfind("cmpl-", 0), 0u);
  EXPECT_GT(c.created, 1600000000);
  EXPECT_EQ(c.model, "m");
  EXPECT_EQ(chat_meta("m").id.rfind("chatcmpl-", 0), 0u);
}

TEST(OpenAiResponses, TextCompletion) {
  CompletionChoice c0 = completion_choice(0, "Hello", FinishReason::kStop);
  CompletionChoice c1 = completion_choice(1, "Hi", FinishReason::kLength);
  c1.has_logprobs = true;
  c1.text_offset = 3;
  c1.logprobs = {{"H", -0.5f, {{"H", -0.5f}, {"Y", -1.5f}}}, {"i", -0.25f, {}}};
  const CompletionChoice choices[] = {c0, c1};
  auto j = json::parse(completion_response(meta(), choices, {5, 7}));
  EXPECT_EQ(j["id"], "cmpl-abc");
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["system_fingerprint"], "fp_tenbin");
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["choices"][0],
            json::parse(R"({"index":0,"text":"Hello","logprobs":null,"finish_reason":"stop"})"));
  const json& lp = j["choices"][1]["logprobs"];
  EXPECT_EQ(j["choices"][1]["finish_reason"], "length");
  EXPECT_EQ(lp["tokens"], json::parse(R"(["H","i"])"));
  EXPECT_EQ(lp["token_logprobs"], json::parse("[-0.5,-0.25]"));
  EXPECT_EQ(lp["top_logprobs"], json::parse(R"([{"H":-0.5,"Y":-1.5},{}])"));
  EXPECT_EQ(lp["text_offset"], json::parse("[3,4]"));
  EXPECT_EQ(j["usage"],
            json::parse(R"({"prompt_tokens":5,"completion_tokens":7,"total_tokens":12})"));
}

TEST(OpenAiResponses, ChatCompletion) {
  ChatChoice c = chat_choice(0, "Hey there", FinishReason::kStop);
  c.has_logprobs = true;
  c.logprobs = {{"Hey", -0.1f, {{"Hey", -0.1f}, {"Hi", -2.0f}}},
                {"\xC3", -std::numeric_limits<float>::infinity(), {}}};
  const ChatChoice choices[] = {c};
  auto j = json::parse(chat_response(meta("chatcmpl-x"), choices, {3, 2}));
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["id"], "chatcmpl-x");
  const json& choice = j["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"],
            json::parse(R"({"role":"assistant","content":"Hey there","refusal":null})"));
  EXPECT_EQ(choice["finish_reason"], "stop");
  const json& content = choice["logprobs"]["content"];
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[0]["token"], "Hey");
  EXPECT_FLOAT_EQ(content[0]["logprob"].get<float>(), -0.1f);
  EXPECT_EQ(content[0]["bytes"], json::parse("[72,101,121]"));
  EXPECT_EQ(content[0]["top_logprobs"][1]["token"], "Hi");
  EXPECT_EQ(content[0]["top_logprobs"][1]["bytes"], json::parse("[72,105]"));
  // A partial UTF-8 token: the string is replaced, the bytes keep the truth; -inf -> -9999.
  EXPECT_EQ(content[1]["token"], "\xEF\xBF\xBD");
  EXPECT_EQ(content[1]["bytes"], json::parse("[195]"));
  EXPECT_EQ(content[1]["logprob"], -9999.0);
  EXPECT_TRUE(choice["logprobs"]["refusal"].is_null());
  EXPECT_EQ(j["usage"]["total_tokens"], 5);
}

TEST(OpenAiResponses, ChatWithoutLogprobsHasNull) {
  const ChatChoice choices[] = {chat_choice(0, "x", FinishReason::kLength)};
  auto j = json::parse(chat_response(meta(), choices, {}));
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
}

TEST(OpenAiResponses, ChatStreamChunks) {
  ChatStream stream(meta("chatcmpl-s"), /*include_usage=*/false);
  auto role = json::parse(stream.role_chunk(0));
  EXPECT_EQ(role["object"], "chat.completion.chunk");
  EXPECT_EQ(role["id"], "chatcmpl-s");
  EXPECT_EQ(role["created"], 1700000000);
  EXPECT_FALSE(role.contains("usage"));
  EXPECT_EQ(role["choices"], json::parse(R"([{"index":0,"delta":{"role":"assistant","content":""},)"
                                         R"("logprobs":null,"finish_reason":null}])"));
  auto piece = json::parse(stream.content_chunk(1, "Once"));
  EXPECT_EQ(piece["choices"], json::parse(R"([{"index":1,"delta":{"content":"Once"},)"
                                          R"("logprobs":null,"finish_reason":null}])"));
  const TokenLogprob lp[] = {{"Once", -0.5f, {}}};
  auto with_lp = json::parse(stream.content_chunk(0, "Once", true, lp));
  EXPECT_EQ(with_lp["choices"][0]["logprobs"]["content"][0]["token"], "Once");
  auto done = json::parse(stream.finish_chunk(0, FinishReason::kStop));
  EXPECT_EQ(done["choices"], json::parse(R"([{"index":0,"delta":{},"logprobs":null,)"
                                         R"("finish_reason":"stop"}])"));
}

TEST(OpenAiResponses, StreamUsageChunkWhenIncluded) {
  ChatStream stream(meta(), /*include_usage=*/true);
  EXPECT_TRUE(json::parse(stream.role_chunk(0))["usage"].is_null());
  EXPECT_TRUE(json::parse(stream.content_chunk(0, "a")).contains("usage"));
  auto usage = json::parse(stream.usage_chunk({4, 6}));
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"],
            json::parse(R"({"prompt_tokens":4,"completion_tokens":6,"total_tokens":10})"));
  EXPECT_EQ(kDoneEvent, "[DONE]");
}

TEST(OpenAiResponses, CompletionStreamChunks) {
  CompletionStream stream(meta(), /*include_usage=*/true);
  auto piece = json::parse(stream.text_chunk(2, " upon"));
  EXPECT_EQ(piece["object"], "text_completion");
  EXPECT_EQ(piece["choices"], json::parse(R"([{"index":2,"text":" upon","logprobs":null,)"
                                          R"("finish_reason":null}])"));
  EXPECT_TRUE(piece["usage"].is_null());
  const TokenLogprob lp[] = {{" up", -1.0f, {{" up", -1.0f}}}, {"on", -0.5f, {}}};
  auto with_lp = json::parse(stream.text_chunk(0, " upon", true, lp, 10));
  EXPECT_EQ(with_lp["choices"][0]["logprobs"]["text_offset"], json::parse("[10,13]"));
  auto done = json::parse(stream.finish_chunk(2, FinishReason::kLength));
  EXPECT_EQ(done["choices"][0]["text"], "");
  EXPECT_EQ(done["choices"][0]["finish_reason"], "length");
  auto usage = json::parse(stream.usage_chunk({1, 2}));
  EXPECT_EQ(usage["object"], "text_completion");
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 3);
}

TEST(OpenAiResponses, ModelsList) {
  const ModelCard models[] = {{"stories260K", 1700000000}};
  EXPECT_EQ(models_list(models), R"({"object":"list","data":[{"id":"stories260K","object":"model",)"
                                 R"("created":1700000000,"owned_by":"tenbin"}]})");
  EXPECT_EQ(json::parse(model_object(models[0]))["owned_by"], "tenbin");
  EXPECT_EQ(models_list({}), R"({"object":"list","data":[]})");
}

}  // namespace
}  // namespace tenbin::server::openai
