// The Jinja subset construct by construct: each case is a template, its variables (JSON) and
// the exact output Jinja2 gives with Hugging Face's settings.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "unit/chat_template/chat_template_test_util.h"

namespace tenbin {
namespace {

using test::render_or_error;

struct Case {
  const char* source;
  const char* vars;
  const char* expected;
};

void check_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    EXPECT_EQ(render_or_error(c.source, c.vars), c.expected) << "template: " << c.source;
  }
}

TEST(ChatTemplateLanguage, LiteralsAndOperators) {
  check_cases({
      {"{{ 1 + 2 * 3 }}", "{}", "7"},
      {"{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }}", "{}", "3 -4 1 2 1024"},
      {"{{ 7 / 2 }} {{ 1.5 + 1 }} {{ 4 / 2 }}", "{}", "3.5 2.5 2.0"},
      {"{{ 'a' ~ 1 ~ none }}|{{ none }}|{{ true }}|{{ undefined_thing }}|", "{}",
       "a1None|None|True||"},
      {"{{ [1, 'a', [true]] }} {{ {'k': 'v', 'n': 1} }}", "{}",
       "[1, 'a', [True]] {'k': 'v', 'n': 1}"},
      {"{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}", "{}",
       "True True True True"},
      {"{{ 1 < 2 and 'a' < 'b' }} {{ 1 == 1.0 }} {{ 'a' != 'a' }} {{ not 0 }}", "{}",
       "True True False True"},
      {"{{ none or 'x' }} {{ 'y' and 0 }} {{ 'a' if false else 'b' }} [{{ 'a' if false }}]", "{}",
       "x 0 b []"},
      {"{{ 'it''s' }} {{ \"q\\\"\" }} {{ 'tab\\tnl\\n' }}", "{}", "its q\" tab\tnl\n"},
  });
}

TEST(ChatTemplateLanguage, SubscriptsSlicesAndAttributes) {
  check_cases({
      {"{{ xs[0] }}{{ xs[-1] }}{{ xs[1:] }}{{ xs[:-1] }}{{ xs[::-1] }}{{ xs[::2] }}",
       R"({"xs": [1, 2, 3]})", "13[2, 3][1, 2][3, 2, 1][1, 3]"},
      {"{{ s[1:3] }}|{{ s[::-1] }}|{{ s[0] }}", R"({"s": "héllo"})", "él|olléh|h"},
      {"{{ m.a }}{{ m['b'] }}{{ m.missing is defined }}{{ m.b.c is defined }}",
       R"({"m": {"a": 1, "b": "x"}})", "1xFalseFalse"},
      {"{{ xs.0 }}", R"({"xs": ["first"]})", "first"},
  });
}

TEST(ChatTemplateLanguage, Methods) {
  check_cases({
      {"[{{ '  a b  '.strip() }}][{{ 'xxaxx'.strip('x') }}][{{ ' a'.lstrip() }}][{{ 'a '.rstrip() "
       "}}]",
       "{}", "[a b][a][a][a]"},
      {"{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith(('x', 'a')) }}",
       "{}", "TrueTrueTrue"},
      {"{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}", "{}",
       "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c']"},
      {"{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}{{ 'hello world'.title() }}{{ 'aXa'.replace('a', 'b') "
       "}}",
       "{}", "ABabHello WorldbXb"},
      {"{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}{{ m.get('z', 'dflt') }}{{ "
       "m.get('a') }}",
       R"({"m": {"a": 1, "b": 2}})", "a=1;b=2;dflt1"},
      {"{{ m.keys() | list }} {{ m.values() | list }}", R"({"m": {"a": 1}})", "['a'] [1]"},
      {"{% set xs = [] %}{% set _ = xs.append(1) %}{{ xs }}", "{}", "[1]"},
  });
}

TEST(ChatTemplateLanguage, Filters) {
  check_cases({
      {"[{{ ' x ' | trim }}]{{ 'ab' | upper }}{{ 'AB' | lower }}{{ 'aB' | capitalize }}{{ 'a-b c' "
       "| title }}",
       "{}", "[x]ABabAbA-B C"},
      {"{{ xs | length }}{{ 'héllo' | length }}{{ xs | first }}{{ xs | last }}{{ xs | join('-') }}",
       R"({"xs": [1, 2, 3]})",
       "3513"
       "1-2-3"},
      {"{{ missing | default('d') }}{{ '' | default('e', true) }}{{ 'v' | default('f') }}", "{}",
       "dev"},
      {"{{ 'aaa' | replace('a', 'b') }}{{ 3 | string }}{{ '42' | int + 1 }}{{ 'x' | int }}", "{}",
       "bbb3430"},
      {"{{ m | tojson }}", R"({"m": {"a": [1, "x\n"], "b": null, "c": true, "d": 1.5}})",
       R"({"a": [1, "x\n"], "b": null, "c": true, "d": 1.5})"},
      {"{{ m | tojson(indent=2) }}", R"({"m": {"a": [1], "b": {}}})",
       "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}"},
      {"{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | join }}"
       "{{ ms | rejectattr('role', 'equalto', 'user') | list | length }}"
       "{{ ms | selectattr('c', 'defined') | list | length }}",
       R"({"ms": [{"role": "user", "c": "a"}, {"role": "bot", "c": "b"}, {"role": "user"}]})",
       "a12"},
      {"{{ [3, 1, 2] | sort }}{{ [1, 1, 2] | unique | list }}{{ [1, 2] | reverse | list }}"
       "{{ [1, 2, 3] | reject('equalto', 2) | list }}",
       "{}", "[1, 2, 3][1, 2][2, 1][1, 3]"},
      {"{% for k, v in m | items %}{{ k }}{{ v }}{% endfor %}", R"({"m": {"x": 1, "y": 2}})",
       "x1y2"},
  });
}

TEST(ChatTemplateLanguage, Tests) {
  check_cases({
      {"{{ x is defined }}{{ y is defined }}{{ y is undefined }}{{ n is none }}{{ x is not none }}",
       R"({"x": 1, "n": null})", "TrueFalseTrueTrueTrue"},
      {"{{ s is string }}{{ m is mapping }}{{ xs is iterable }}{{ s is iterable }}{{ 1 is iterable "
       "}}",
       R"({"s": "a", "m": {}, "xs": []})", "TrueTrueTrueTrueFalse"},
      {"{{ 2 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 'a' is equalto 'a' }}{{ 1 is "
       "number }}",
       "{}", "TrueTrueTrueTrueTrue"},
      {"{{ not x is defined }}", "{}", "True"},
  });
}

TEST(ChatTemplateLanguage, ControlFlowAndScopes) {
  check_cases({
      {"{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
       "{{ loop.last }}{{ loop.length }};{% endfor %}",
       R"({"xs": ["a", "b"]})", "102TrueFalse2;211FalseTrue2;"},
      {"{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% else %}empty{% endfor %}"
       "{% for x in [] %}x{% else %}none{% endfor %}",
       R"({"xs": [1, 2, 3]})", "2232none"},
      {"{% for x in range(10) %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}"
       "{% endif %}{{ x }}{% endfor %}",
       "{}", "02"},
      {"{% if a %}A{% elif b %}B{% else %}C{% endif %}", R"({"b": 1})", "B"},
      // set inside a loop does not leak; namespace attributes do
      {"{% set x = 1 %}{% set ns = namespace(y=1) %}{% for i in [1, 2] %}{% set x = x + i %}"
       "{% set ns.y = ns.y + i %}{% endfor %}{{ x }} {{ ns.y }}",
       "{}", "1 4"},
      {"{% set block %}in {{ 1 + 1 }}{% endset %}[{{ block }}]", "{}", "[in 2]"},
      {"{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}"
       "{{ greet('Bo') }} {{ greet('Al', punct='?') }}",
       "{}", "Hi Bo! Hi Al?"},
      {"{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %}", "{}", "3,7,"},
      {"{% generation %}gen{% endgeneration %}{# a comment #}", "{}", "gen"},
      {"{{ range(3) | list }}{{ range(1, 7, 2) | list }}{{ range(3, 0, -1) | list }}", "{}",
       "[0, 1, 2][1, 3, 5][3, 2, 1]"},
  });
}

TEST(ChatTemplateLanguage, WhitespaceControl) {
  check_cases({
      // `-` strips all whitespace on that side, newlines included
      {"a  \n  {{- 'b' -}}  \n  c", "{}", "abc"},
      // trim_blocks: the newline after a block tag goes; lstrip_blocks: indentation before it
      {"x\n  {% if true %}\n  y\n  {% endif %}\nz", "{}", "x\n  y\nz"},
      // {{ }} keeps its newline; `+` keeps the indentation and newline
      {"{{ 'a' }}\nb\n  {%+ if true +%}\nc{% endif %}", "{}", "a\nb\n  \nc"},
      // one trailing newline of the template is dropped
      {"done\n", "{}", "done"},
      {"{# c #}\nafter", "{}", "after"},
  });
}

TEST(ChatTemplateLanguage, ParseOnceRenderFromManyThreads) {
  Expected<ChatTemplate> t =
      ChatTemplate::parse("{% for m in messages %}{{ m['role'] }}:{{ m['content'] }};{% endfor %}");
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 200; ++k) {
        ChatTemplateInputs in;
        in.messages = {{"user", std::to_string(i)}};
        Expected<std::string> out = t->render(in);
        results[i] = out.ok() ? *out : out.status().message();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (size_t i = 0; i < results.size(); ++i)
    EXPECT_EQ(results[i], "user:" + std::to_string(i) + ";");
}

}  // namespace
}  // namespace tenbin
