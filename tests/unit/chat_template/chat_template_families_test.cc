// Real chat templates of the model families Tenbin serves, rendered for the same conversation
// and compared with the exact prompt text each family expects (worked out by hand from Jinja
// semantics, Hugging Face settings: trim_blocks and lstrip_blocks on).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/chat_template/chat_template.h"
#include "unit/chat_template/chat_template_test_util.h"
#include "unit/chat_template/real_templates.h"

namespace tenbin {
namespace {

using test::HasText;

const std::vector<ChatMessage> kWithSystem = {{"system", "You are a bot."},
                                              {"user", "Hi"},
                                              {"assistant", "Hello!"},
                                              {"user", "How are you?"}};
const std::vector<ChatMessage> kNoSystem = {
    {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "How are you?"}};

struct Rendered {
  bool ok;
  std::string text;  // the prompt, or the error message
};

Rendered render(const char* source, const std::vector<ChatMessage>& messages, bool generation,
                const std::string& bos, const std::string& eos,
                std::map<std::string, std::string> extra = {}) {
  Expected<ChatTemplate> t = ChatTemplate::parse(source);
  if (!t.ok()) return {false, t.status().message()};
  ChatTemplateInputs in;
  in.messages = messages;
  in.add_generation_prompt = generation;
  in.bos_token = bos;
  in.eos_token = eos;
  in.extra = std::move(extra);
  Expected<std::string> out = t->render(in);
  return out.ok() ? Rendered{true, *out} : Rendered{false, out.status().message()};
}

void expect_prompt(const Rendered& r, const std::string& expected) {
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, expected);
}

TEST(ChatTemplateFamilies, Llama2) {
  const std::string want =
      "<s>[INST] <<SYS>>\nYou are a bot.\n<</SYS>>\n\nHi [/INST] Hello! </s>"
      "<s>[INST] How are you? [/INST]";
  expect_prompt(render(test::kLlama2Template, kWithSystem, true, "<s>", "</s>"), want);
  expect_prompt(render(test::kLlama2Template, kWithSystem, false, "<s>", "</s>"), want);
  expect_prompt(render(test::kLlama2Template, kNoSystem, true, "<s>", "</s>"),
                "<s>[INST] Hi [/INST] Hello! </s><s>[INST] How are you? [/INST]");
  Rendered bad = render(test::kLlama2Template, {{"user", "a"}, {"user", "b"}}, true, "<s>", "</s>");
  EXPECT_FALSE(bad.ok);
  EXPECT_TRUE(
      HasText(bad.text, "Conversation roles must alternate user/assistant/user/assistant/..."));
}

TEST(ChatTemplateFamilies, Llama3) {
  const std::string body =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a bot.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>";
  const char* bos = "<|begin_of_text|>";
  expect_prompt(render(test::kLlama3Template, kWithSystem, false, bos, "<|eot_id|>"), body);
  expect_prompt(render(test::kLlama3Template, kWithSystem, true, bos, "<|eot_id|>"),
                body + "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // `| trim` applies to the content only (filters bind tighter than +).
  expect_prompt(render(test::kLlama3Template, {{"user", "  padded \n"}}, false, bos, ""),
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\npadded<|eot_id|>");
}

TEST(ChatTemplateFamilies, Llama31) {
  const std::string body =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
      "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
      "You are a bot.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>";
  const char* bos = "<|begin_of_text|>";
  expect_prompt(render(test::kLlama31Template, kWithSystem, false, bos, "<|eot_id|>"), body);
  expect_prompt(render(test::kLlama31Template, kWithSystem, true, bos, "<|eot_id|>"),
                body + "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // No system message: an empty one is still emitted; date_string comes from the caller.
  expect_prompt(render(test::kLlama31Template, {{"user", "Hi"}}, true, bos, "<|eot_id|>",
                       {{"date_string", "01 Jan 2025"}}),
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateFamilies, Llama31ToolCall) {
  Expected<ChatTemplate> t = ChatTemplate::parse(test::kLlama31Template);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto vars = nlohmann::ordered_json::parse(R"({
    "bos_token": "<|begin_of_text|>", "add_generation_prompt": false,
    "messages": [
      {"role": "user", "content": "Weather?"},
      {"role": "assistant", "tool_calls": [{"function": {"name": "get_weather",
                                                          "arguments": {"city": "Paris"}}}]},
      {"role": "tool", "content": "sunny"}]})");
  Expected<std::string> out = t->render_json(vars);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWeather?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
            "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>"
            "<|start_header_id|>ipython<|end_header_id|>\n\n\"sunny\"<|eot_id|>");
}

TEST(ChatTemplateFamilies, MistralV1) {
  const std::string want = "<s>[INST] Hi [/INST]Hello!</s>[INST] How are you? [/INST]";
  expect_prompt(render(test::kMistralV1Template, kNoSystem, true, "<s>", "</s>"), want);
  expect_prompt(render(test::kMistralV1Template, kNoSystem, false, "<s>", "</s>"), want);
  Rendered bad = render(test::kMistralV1Template, kWithSystem, true, "<s>", "</s>");
  EXPECT_FALSE(bad.ok);
  EXPECT_TRUE(HasText(bad.text, "Conversation roles must alternate"));
}

TEST(ChatTemplateFamilies, MistralV2) {
  const std::string want =
      "<s> [INST] You are a bot.\n\nHi [/INST] Hello!</s> [INST] How are you? [/INST]";
  expect_prompt(render(test::kMistralV2Template, kWithSystem, true, "<s>", "</s>"), want);
  expect_prompt(render(test::kMistralV2Template, kWithSystem, false, "<s>", "</s>"), want);
  expect_prompt(render(test::kMistralV2Template, kNoSystem, true, "<s>", "</s>"),
                "<s> [INST] Hi [/INST] Hello!</s> [INST] How are you? [/INST]");
}

TEST(ChatTemplateFamilies, MistralV3) {
  const std::string want =
      "<s>[INST] Hi[/INST] Hello!</s>[INST] You are a bot.\n\nHow are you?[/INST]";
  expect_prompt(render(test::kMistralV3Template, kWithSystem, true, "<s>", "</s>"), want);
  expect_prompt(render(test::kMistralV3Template, kWithSystem, false, "<s>", "</s>"), want);
  Rendered bad = render(test::kMistralV3Template, {{"assistant", "x"}}, true, "<s>", "</s>");
  EXPECT_FALSE(bad.ok);
  EXPECT_TRUE(
      HasText(bad.text, "After the optional system message, conversation roles must alternate"));
}

TEST(ChatTemplateFamilies, MistralV3Tools) {
  Expected<ChatTemplate> t = ChatTemplate::parse(test::kMistralV3Template);
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto vars = nlohmann::ordered_json::parse(R"({
    "bos_token": "<s>", "eos_token": "</s>",
    "messages": [{"role": "user", "content": "Weather in Paris?"}],
    "tools": [{"type": "function", "function": {"name": "get_weather",
      "description": "Get weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string"}}}, "return": "x"}}]})");
  Expected<std::string> out = t->render_json(vars);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out,
            "<s>[AVAILABLE_TOOLS] [{\"type\": \"function\", \"function\": {\"name\": "
            "\"get_weather\", \"description\": \"Get weather\", \"parameters\": {\"type\": "
            "\"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}]"
            "[/AVAILABLE_TOOLS][INST] Weather in Paris?[/INST]");
}

TEST(ChatTemplateFamilies, Qwen2ChatMl) {
  const std::string body =
      "<|im_start|>system\nYou are a bot.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
      "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n";
  expect_prompt(render(test::kQwen2Template, kWithSystem, false, "", "<|im_end|>"), body);
  expect_prompt(render(test::kQwen2Template, kWithSystem, true, "", "<|im_end|>"),
                body + "<|im_start|>assistant\n");
  // Without a system message the default one is inserted.
  expect_prompt(render(test::kQwen2Template, {{"user", "Hi"}}, true, "", "<|im_end|>"),
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateFamilies, Phi3) {
  const std::string body =
      "<|system|>\nYou are a bot.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
      "<|user|>\nHow are you?<|end|>\n";
  expect_prompt(render(test::kPhi3Template, kWithSystem, true, "<s>", "<|endoftext|>"),
                body + "<|assistant|>\n");
  expect_prompt(render(test::kPhi3Template, kWithSystem, false, "<s>", "<|endoftext|>"),
                body + "<|endoftext|>");
}

TEST(ChatTemplateFamilies, Gemma) {
  const std::string body =
      "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
      "<start_of_turn>user\nHow are you?<end_of_turn>\n";
  expect_prompt(render(test::kGemmaTemplate, kNoSystem, false, "<bos>", "<eos>"), body);
  expect_prompt(render(test::kGemmaTemplate, kNoSystem, true, "<bos>", "<eos>"),
                body + "<start_of_turn>model\n");
  Rendered bad = render(test::kGemmaTemplate, kWithSystem, true, "<bos>", "<eos>");
  EXPECT_FALSE(bad.ok);
  EXPECT_TRUE(HasText(bad.text, "System role not supported"));
}

TEST(ChatTemplateFamilies, Zephyr) {
  const std::string body =
      "<|system|>\nYou are a bot.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
      "<|user|>\nHow are you?</s>\n";
  expect_prompt(render(test::kZephyrTemplate, kWithSystem, false, "<s>", "</s>"), body);
  expect_prompt(render(test::kZephyrTemplate, kWithSystem, true, "<s>", "</s>"),
                body + "<|assistant|>\n");
}

TEST(ChatTemplateFamilies, ChatMlFallback) {
  ChatTemplateInputs in;
  in.messages = kWithSystem;
  Expected<std::string> out = ChatTemplate::chatml().render(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out,
            "<|im_start|>system\nYou are a bot.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n"
            "<|im_start|>assistant\n");
}

}  // namespace
}  // namespace tenbin
