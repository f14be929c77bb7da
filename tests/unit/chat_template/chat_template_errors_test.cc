// Failures a server must survive: templates that raise, use constructs outside the subset,
// are malformed, or try to loop or grow without bound. Each gives a Status naming the
// problem and its line:col, never a crash or a hang. Also reading the template from GGUF.
#include <string>

#include <gtest/gtest.h>

#include "model/chat_template/gguf_chat_template.h"
#include "model/gguf/gguf_file.h"
#include "unit/chat_template/chat_template_test_util.h"
#include "unit/chat_template/real_templates.h"
#include "unit/test_data.h"

namespace tenbin {
namespace {

using test::HasText;
using test::render_or_error;

TEST(ChatTemplateErrors, RaiseExceptionReturnsTheMessage) {
  std::string out = render_or_error(test::kLlama2Template,
                                    R"({"messages": [{"role": "assistant", "content": "x"}]})");
  EXPECT_TRUE(HasText(out, "ERROR: chat template raised an error at line 1:"));
  EXPECT_TRUE(HasText(out, "Conversation roles must alternate user/assistant/user/assistant/..."));
}

TEST(ChatTemplateErrors, UnsupportedTagsNamedWithPosition) {
  EXPECT_EQ(render_or_error("{% call foo() %}x{% endcall %}"),
            "ERROR: chat template error at line 1:4: unsupported tag '{% call %}'");
  EXPECT_EQ(render_or_error("Hello\n  {% filter upper %}x{% endfilter %}"),
            "ERROR: chat template error at line 2:6: unsupported tag '{% filter %}'");
  EXPECT_EQ(render_or_error("{% include 'x.j2' %}"),
            "ERROR: chat template error at line 1:4: unsupported tag '{% include %}'");
}

TEST(ChatTemplateErrors, UnknownFiltersTestsAndFunctions) {
  EXPECT_EQ(render_or_error("ab\n{{ 'a' | frobnicate }}"),
            "ERROR: chat template error at line 2:8: unsupported filter 'frobnicate'");
  EXPECT_EQ(render_or_error("{{ 1 is prime }}"),
            "ERROR: chat template error at line 1:6: unsupported test 'prime'");
  EXPECT_EQ(render_or_error("{{ cycler(1) }}"),
            "ERROR: chat template error at line 1:4: unknown function 'cycler'");
  EXPECT_EQ(render_or_error("{{ 'a'.zfill(3) }}"),
            "ERROR: chat template error at line 1:7: unsupported string method 'zfill'");
  EXPECT_EQ(render_or_error("{{ '%s' % 1 }}"),
            "ERROR: chat template error at line 1:9: unsupported construct: printf-style string "
            "formatting with '%'");
}

TEST(ChatTemplateErrors, MalformedTemplates) {
  EXPECT_EQ(render_or_error("{% if true %}abc"),
            "ERROR: chat template error at line 1:4: unclosed '{% if %}': expected '{% endif %}' "
            "before the end of the template");
  EXPECT_EQ(render_or_error("x\n{% for m in ms %}{% if m %}{% endfor %}"),
            "ERROR: chat template error at line 2:31: unexpected tag '{% endfor %}': expected "
            "'{% endif %}' to close '{% if %}' from 2:21");
  EXPECT_EQ(render_or_error("abc {{ name "),
            "ERROR: chat template error at line 1:5: unclosed '{{' tag");
  EXPECT_EQ(render_or_error("{# never closed"),
            "ERROR: chat template error at line 1:1: unclosed comment '{#'");
  EXPECT_EQ(render_or_error("{{ 'open }}"),
            "ERROR: chat template error at line 1:4: unterminated string literal");
  EXPECT_EQ(render_or_error("{{ 1 + }}"),
            "ERROR: chat template error at line 1:8: expected an expression, found '}}'");
  EXPECT_EQ(render_or_error("{{ a $ b }}"),
            "ERROR: chat template error at line 1:6: unexpected character '$'");
  EXPECT_TRUE(HasText(render_or_error("{{ " + std::string(5000, '(') + "1 }}"), "ERROR:"));
  EXPECT_TRUE(
      HasText(render_or_error("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}"),
              "nested deeper"));
}

TEST(ChatTemplateErrors, RuntimeTypeErrors) {
  EXPECT_EQ(render_or_error("{{ 'a' + 1 }}"),
            "ERROR: chat template error at line 1:8: unsupported operand types for +: 'string' and "
            "'int'");
  EXPECT_EQ(render_or_error("{{ missing.attr }}"),
            "ERROR: chat template error at line 1:11: cannot read attribute 'attr' of an undefined "
            "value");
  EXPECT_EQ(render_or_error("{{ 1 // 0 }}"),
            "ERROR: chat template error at line 1:6: integer division or modulo by zero");
  EXPECT_EQ(render_or_error("{% set x = 1 %}{% set x.y = 2 %}"),
            "ERROR: chat template error at line 1:19: cannot set attribute 'y' on 'x': only "
            "namespace() objects take attribute assignment");
  EXPECT_TRUE(HasText(render_or_error("{{ 9223372036854775807 + 1 }}"), "integer overflow"));
}

TEST(ChatTemplateErrors, HugeLoopsStopAtTheCap) {
  EXPECT_EQ(render_or_error("{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}"
                            "{% endfor %}"),
            "ERROR: chat template error at line 1:30: loops ran more than 100000 iterations "
            "(the limit)");
  EXPECT_EQ(render_or_error("{% for i in range(1000000000000) %}{% endfor %}"),
            "ERROR: chat template error at line 1:13: range() of 1000000000000 items exceeds the "
            "loop iteration limit of 100000");
  ChatTemplateLimits small;
  small.max_loop_iterations = 10;
  EXPECT_TRUE(HasText(render_or_error("{% for i in xs %}{% endfor %}",
                                      R"({"xs": [1,2,3,4,5,6,7,8,9,10,11]})", small),
                      "loops ran more than 10 iterations"));
}

TEST(ChatTemplateErrors, OutputGrowthStopsAtTheCap) {
  EXPECT_TRUE(HasText(render_or_error("{% set ns = namespace(s='x') %}{% for i in range(100) %}"
                                      "{% set ns.s = ns.s + ns.s %}{% endfor %}"),
                      "exceeds the output limit"));
  EXPECT_TRUE(HasText(render_or_error("{{ 'x' * 1000000000 }}"), "exceeds the output limit"));
  ChatTemplateLimits small;
  small.max_output_bytes = 100;
  EXPECT_EQ(
      render_or_error("{% for i in range(1000) %}ab{% endfor %}", "{}", small),
      "ERROR: chat template error at line 1:27: rendered output exceeds the limit of 100 bytes");
  EXPECT_TRUE(HasText(render_or_error("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"),
                      "macro calls nested deeper than 32"));
}

TEST(ChatTemplateErrors, NotAnObjectForRenderJson) {
  Expected<ChatTemplate> t = ChatTemplate::parse("x");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->render_json(nlohmann::json::array()).ok());
}

TEST(ChatTemplateGguf, Qwen2TemplateFromSharedModel) {
  Expected<std::unique_ptr<GgufFile>> file =
      GgufFile::open(test::shared_path("models/synthetic/mini-qwen2-random-f16.gguf"));
  ASSERT_TRUE(file.ok()) << file.status().message();
  Expected<ModelChatTemplate> picked = chat_template_from_gguf(**file);
  ASSERT_TRUE(picked.ok()) << picked.status().message();
  EXPECT_FALSE(picked->is_fallback);
  EXPECT_EQ(picked->chat_template.source(), *(*file)->get_string("tokenizer.chat_template"));
  auto tokens = (*file)->get_string_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(picked->eos_token, (*tokens)[*(*file)->get_int("tokenizer.ggml.eos_token_id")]);
  EXPECT_EQ(picked->bos_token, (*tokens)[*(*file)->get_int("tokenizer.ggml.bos_token_id")]);

  ChatTemplateInputs in;
  in.messages = {{"system", "You are a bot."},
                 {"user", "Hi"},
                 {"assistant", "Hello!"},
                 {"user", "How are you?"}};
  in.bos_token = picked->bos_token;
  in.eos_token = picked->eos_token;
  const std::string body =
      "<|im_start|>system\nYou are a bot.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
      "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n";
  Expected<std::string> out = picked->chat_template.render(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, body + "<|im_start|>assistant\n");
  in.add_generation_prompt = false;
  out = picked->chat_template.render(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, body);
}

TEST(ChatTemplateGguf, FallsBackToChatMlWithoutTemplate) {
  Expected<std::unique_ptr<GgufFile>> file =
      GgufFile::open(test::shared_path("models/synthetic/mini-llama-random-f16.gguf"));
  ASSERT_TRUE(file.ok()) << file.status().message();
  if ((*file)->find("tokenizer.chat_template") != nullptr) GTEST_SKIP() << "model has a template";
  Expected<ModelChatTemplate> picked = chat_template_from_gguf(**file);
  ASSERT_TRUE(picked.ok()) << picked.status().message();
  EXPECT_TRUE(picked->is_fallback);
  EXPECT_EQ(picked->chat_template.source(), ChatTemplate::chatml_source());
}

}  // namespace
}  // namespace tenbin
