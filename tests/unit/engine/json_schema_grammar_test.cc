#include "engine/grammar/json_schema_grammar.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/grammar/grammar.h"
#include "engine/grammar/grammar_matcher.h"

namespace tenbin::grammar {
namespace {

using json = nlohmann::ordered_json;

std::shared_ptr<const Grammar> from_schema(const std::string& schema) {
  auto text = json_schema_to_gbnf(json::parse(schema));
  EXPECT_TRUE(text.ok()) << text.status().message();
  if (!text.ok()) return nullptr;
  auto g = Grammar::parse(*text);
  EXPECT_TRUE(g.ok()) << g.status().message() << "\n" << *text;
  if (!g.ok()) return nullptr;
  return std::make_shared<const Grammar>(std::move(*g));
}

bool complete(const std::shared_ptr<const Grammar>& g, const std::string& text) {
  GrammarMatcher m(g);
  return m.accept(text) && m.is_complete();
}

void expect_sentences(const std::string& schema, const std::vector<std::string>& valid,
                      const std::vector<std::string>& invalid) {
  auto g = from_schema(schema);
  ASSERT_TRUE(g) << schema;
  for (const std::string& v : valid) {
    EXPECT_TRUE(complete(g, v)) << schema << " should accept " << v;
    // Every accepted text is JSON that parses.
    EXPECT_TRUE(json::accept(v)) << v;
  }
  for (const std::string& v : invalid)
    EXPECT_FALSE(complete(g, v)) << schema << " should refuse " << v;
}

TEST(JsonSchemaGrammar, ObjectWithRequiredAndOptionalProperties) {
  expect_sentences(
      R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
          "tags":{"type":"array","items":{"type":"string"}}},"required":["name"],
          "additionalProperties":false})",
      {R"({"name":"Ann"})", R"({"name":"Ann","age":31})", R"({"name":"Ann","tags":["a","b"]})",
       R"({"name":"Ann","age":-4,"tags":[]})", "{\n  \"name\": \"Ann\",\n  \"age\": 31\n}",
       R"( {"name":"x\"y\\z\u00e9"})"},
      {R"({})", R"({"age":31})", R"({"age":31,"name":"Ann"})", R"({"name":"Ann",})",
       R"({"name":"Ann","extra":1})", R"({"name":"Ann","age":3.5})", R"({"name":Ann})",
       R"({"name":"Ann"} )", R"(["Ann"])", R"({"name":"a
b"})"});
}

TEST(JsonSchemaGrammar, AllOptionalPropertiesAndAdditionalOnes) {
  expect_sentences(R"({"properties":{"a":{"type":"boolean"},"b":{"type":"null"}}})",
                   {"{}", R"({"a":true})", R"({"b":null})", R"({"a":false,"b":null})"},
                   {R"({"b":null,"a":true})", R"({"c":1})", R"({,"b":null})"});
  expect_sentences(
      R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],
          "additionalProperties":{"type":"number"}})",
      {R"({"a":1})", R"({"a":1,"x":2.5,"y":-1e3})"}, {R"({"a":1,"x":"s"})", R"({"x":2})"});
  expect_sentences(R"({"type":"object"})", {"{}", R"({"k":[1,{"z":null}],"j":"v"})"},
                   {"[]", R"({"k"})"});
}

TEST(JsonSchemaGrammar, ArraysWithBounds) {
  expect_sentences(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})",
                   {"[1]", "[1,2,3]", "[ 1, 2 ]"}, {"[]", "[1,2,3,4]", "[1,]", "[\"a\"]"});
  expect_sentences(R"({"type":"array","maxItems":0})", {"[]"}, {"[1]"});
  expect_sentences(R"({"type":"array","minItems":2})", {"[1,\"a\"]", "[null,{},[]]"}, {"[1]"});
}

TEST(JsonSchemaGrammar, EnumsConstsAndAlternatives) {
  expect_sentences(R"({"type":"string","enum":["red","green","a\"b"]})",
                   {R"("red")", R"("green")", R"("a\"b")"}, {R"("blue")", "red"});
  expect_sentences(R"({"enum":[1,"one",null,true]})", {"1", R"("one")", "null", "true"},
                   {"2", "false"});
  expect_sentences(R"({"const":{"v":1}})", {R"({"v":1})"}, {R"({"v":2})", R"({ "v":1})"});
  expect_sentences(R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":2}]})",
                   {"12", R"("ab")"}, {R"("abc")", "1.5"});
  expect_sentences(R"({"type":["string","null"]})", {R"("x")", "null"}, {"1"});
  expect_sentences(R"({"type":"integer","nullable":true})", {"3", "null"}, {"\"3\""});
}

TEST(JsonSchemaGrammar, StringsWithLengthsAndFormats) {
  expect_sentences(R"({"type":"string","minLength":2,"maxLength":3})",
                   {R"("ab")", R"("abc")", R"("a\n")"}, {R"("a")", R"("abcd")"});
  expect_sentences(R"({"type":"string","format":"date"})", {R"("2026-11-24")"},
                   {R"("2026-13-01")", R"("26-11-24")"});
  expect_sentences(R"({"type":"string","format":"date-time"})",
                   {R"("2026-11-24T09:30:00Z")", R"("2026-11-24T09:30:00.123+01:00")"},
                   {R"("2026-11-24 09:30:00Z")"});
  expect_sentences(R"({"format":"uuid"})", {R"("123e4567-e89b-12d3-a456-426614174000")"},
                   {R"("123e4567")"});
}

TEST(JsonSchemaGrammar, IntegerBoundsAreExact) {
  struct Case {
    const char* schema;
    int64_t lo, hi;  // inclusive; checked over [-1200, 1200]
  };
  const Case cases[] = {
      {R"({"type":"integer","minimum":1,"maximum":5})", 1, 5},
      {R"({"type":"integer","minimum":0})", 0, 1200},
      {R"({"type":"integer","minimum":-37,"maximum":1024})", -37, 1024},
      {R"({"type":"integer","exclusiveMinimum":-100,"exclusiveMaximum":-3})", -99, -4},
      {R"({"type":"integer","maximum":250})", -1200, 250},
      {R"({"type":"integer","minimum":17,"maximum":917})", 17, 917},
      {R"({"type":"integer","minimum":99,"maximum":1000})", 99, 1000},
      {R"({"type":"integer","minimum":0.5,"maximum":7.9})", 1, 7},
  };
  for (const Case& c : cases) {
    auto g = from_schema(c.schema);
    ASSERT_TRUE(g) << c.schema;
    for (int64_t v = -1200; v <= 1200; ++v) {
      EXPECT_EQ(complete(g, std::to_string(v)), v >= c.lo && v <= c.hi) << c.schema << " " << v;
    }
    EXPECT_FALSE(complete(g, "01")) << c.schema;
    EXPECT_FALSE(complete(g, "-0")) << c.schema;
  }
  expect_sentences(R"({"type":"number","minimum":0})", {"0", "2.5", "1e3"}, {"-1", "-0.5"});
}

TEST(JsonSchemaGrammar, ReferencesAndRecursion) {
  expect_sentences(
      R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
          "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v","kids"]}},
          "$ref":"#/$defs/node"})",
      {R"({"v":1,"kids":[]})", R"({"v":1,"kids":[{"v":2,"kids":[{"v":3,"kids":[]}]}]})"},
      {R"({"v":1})", R"({"v":1,"kids":[{"v":2}]})"});
  // pydantic's shape: an object whose property refers to a definition, with annotations.
  expect_sentences(
      R"({"title":"Order","type":"object","definitions":{"Item":{"title":"Item","type":"object",
          "properties":{"sku":{"title":"Sku","type":"string"}},"required":["sku"]}},
          "properties":{"items":{"type":"array","items":{"$ref":"#/definitions/Item"}},
          "note":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null}},
          "required":["items","note"]})",
      {R"({"items":[{"sku":"A1"}],"note":null})", R"({"items":[],"note":"x"})"},
      {R"({"items":[{"sku":1}],"note":null})"});
}

TEST(JsonSchemaGrammar, JsonObjectMode) {
  auto g = Grammar::parse(json_object_gbnf());
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto shared = std::make_shared<const Grammar>(std::move(*g));
  EXPECT_TRUE(complete(shared, R"({"a":[1,2.5e-3,true,null,{"b":"\u00e9"}]})"));
  EXPECT_TRUE(complete(shared, "\n{}"));
  EXPECT_FALSE(complete(shared, "[1]"));
  EXPECT_FALSE(complete(shared, R"({"a":01})"));
  GrammarMatcher m(shared);
  ASSERT_TRUE(m.accept("{}"));
  EXPECT_FALSE(m.can_continue());  // nothing may follow the closing brace
}

TEST(JsonSchemaGrammar, UnsupportedSchemasAreClearErrors) {
  struct Case {
    const char* schema;
    const char* message;
  };
  const Case cases[] = {
      {R"({"type":"string","pattern":"^a+$"})", "keyword 'pattern' is not supported"},
      {R"({"type":"object","properties":{"a":{"type":"array","uniqueItems":true}}})",
       "at /properties/a: the keyword 'uniqueItems'"},
      {R"({"type":"string","format":"email"})", "format \"email\" is not supported"},
      {R"({"type":"number","maximum":3})", "bounds on a number"},
      {R"({"type":"integer","minimum":5,"maximum":1})", "no value"},
      {R"({"$ref":"#/$defs/missing"})", "does not resolve"},
      {R"({"$ref":"http://example.com/s.json"})", "not inside this schema"},
      {R"({"anyOf":[{"type":"string"}],"minLength":3})", "'anyOf' together with 'minLength'"},
      {R"({"allOf":[{"type":"string"},{"maxLength":3}]})", "exactly one schema"},
      {R"({"type":"object","required":["b"],"properties":{"a":{}}})", "\"b\", which is not"},
      {R"({"type":"tuple"})", "unknown type 'tuple'"},
      {R"({"type":"array","maxItems":100000})", "above the 4096"},
      {R"(false)", "matches nothing"},
      {R"({"type":"integer","nullable":[]})", "'nullable' must be a boolean"},
      {R"(3)", "must be an object or a boolean"},
  };
  for (const Case& c : cases) {
    auto r = json_schema_to_gbnf(json::parse(c.schema));
    ASSERT_FALSE(r.ok()) << c.schema;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.schema << " -> " << r.status().message();
  }
  std::string deep = "{}";
  for (int i = 0; i < 5000; ++i) deep = R"({"type":"array","items":)" + deep + "}";
  auto nested = json_schema_to_gbnf(json::parse(deep));
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("deeper than 64"), std::string::npos);
  // A schema referring to itself with nothing in between can never finish a value.
  auto self = json_schema_to_gbnf(json::parse(R"({"$ref":"#"})"));
  ASSERT_TRUE(self.ok());
  EXPECT_FALSE(Grammar::parse(*self).ok());
}

}  // namespace
}  // namespace tenbin::grammar
