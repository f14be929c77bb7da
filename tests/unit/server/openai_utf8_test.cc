// UTF-8 checks on request bodies: raw invalid bytes and bad escapes name the field holding
// them; the validator accepts all well-formed sequences and rejects the rest.
#include <gtest/gtest.h>

#include "server/openai/chat_request.h"
#include "server/openai/completion_request.h"
#include "server/openai/utf8.h"

namespace tenbin::server::openai {
namespace {

TEST(OpenAiUtf8, Validator) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));
  EXPECT_EQ(first_invalid_utf8("ab\xC3"), 2u);            // truncated
  EXPECT_EQ(first_invalid_utf8("\xC0\xAF"), 0u);          // overlong
  EXPECT_EQ(first_invalid_utf8("\xE0\x80\xAF"), 0u);      // overlong
  EXPECT_EQ(first_invalid_utf8("x\xED\xA0\x80"), 1u);     // surrogate
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // > U+10FFFF
  EXPECT_EQ(first_invalid_utf8("\xFF"), 0u);
  EXPECT_EQ(first_invalid_utf8("ok\x80"), 2u);     // stray continuation
  EXPECT_EQ(first_invalid_utf8("\xE2\x82x"), 0u);  // bad continuation
}

TEST(OpenAiUtf8, InvalidBytesInChatContentNameTheField) {
  auto r = parse_chat_request(
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"ok\"},"
      "{\"role\":\"user\",\"content\":\"bad \xFF here\"}]}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().param, "messages[1].content");
  EXPECT_EQ(r.error().code, "invalid_utf8");
  EXPECT_NE(r.error().message.find("UTF-8"), std::string::npos) << r.error().message;
  // The error body itself stays valid JSON.
  EXPECT_EQ(r.error().response().status, 400);
}

TEST(OpenAiUtf8, InvalidBytesInContentPartsAndStopArrays) {
  auto chat = parse_chat_request(
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
      "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"\xC3\"}]}]}");
  ASSERT_FALSE(chat.ok());
  EXPECT_EQ(chat.error().param, "messages[0].content[1].text");
  auto stop = parse_completion_request(
      "{\"model\":\"m\",\"prompt\":\"x\",\"stop\":[\"a\",\"\xED\xA0\x80\"]}");
  ASSERT_FALSE(stop.ok());
  EXPECT_EQ(stop.error().param, "stop[1]");
  auto prompt = parse_completion_request("{\"model\":\"m\",\"prompt\":[\"\xE0\x80\x80\"]}");
  ASSERT_FALSE(prompt.ok());
  EXPECT_EQ(prompt.error().param, "prompt[0]");
  auto model = parse_completion_request("{\"model\":\"\x80\",\"prompt\":\"x\"}");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.error().param, "model");
}

TEST(OpenAiUtf8, InvalidBytesInAKeyNameTheObject) {
  auto r =
      parse_chat_request("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"\xFF\":\"x\"}]}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().param, "messages[0]");
  EXPECT_EQ(r.error().code, "invalid_utf8");
}

TEST(OpenAiUtf8, LoneSurrogateEscapeIsRejected) {
  auto r =
      parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"x \ud800 y"}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().param, "messages[0].content");
  // A valid escaped pair is fine.
  auto ok =
      parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"\ud83d\ude00"}]})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->messages[0].content, "\xF0\x9F\x98\x80");
}

TEST(OpenAiUtf8, SyntaxErrorsHaveNoParam) {
  auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"user",]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().param, "");
  EXPECT_EQ(r.error().code, "invalid_json");
}

}  // namespace
}  // namespace tenbin::server::openai
