#include "engine/grammar/grammar.h"

#include <chrono>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/grammar/grammar_matcher.h"

namespace tenbin::grammar {
namespace {

std::shared_ptr<const Grammar> compile(const std::string& gbnf) {
  auto g = Grammar::parse(gbnf);
  EXPECT_TRUE(g.ok()) << g.status().message() << "\n" << gbnf;
  if (!g.ok()) return nullptr;
  return std::make_shared<const Grammar>(std::move(*g));
}

// Whole sentence?
bool complete(const std::shared_ptr<const Grammar>& g, const std::string& text) {
  GrammarMatcher m(g);
  return m.accept(text) && m.is_complete();
}
// Prefix of some sentence?
bool prefix(const std::shared_ptr<const Grammar>& g, const std::string& text) {
  GrammarMatcher m(g);
  return m.accept(text);
}

TEST(Grammar, LiteralsAlternativesAndGroups) {
  auto g = compile(R"(root ::= "yes" | "no" | ("may" "be"))");
  ASSERT_TRUE(g);
  EXPECT_TRUE(complete(g, "yes"));
  EXPECT_TRUE(complete(g, "no"));
  EXPECT_TRUE(complete(g, "maybe"));
  EXPECT_TRUE(prefix(g, "ma"));
  EXPECT_FALSE(complete(g, "ma"));
  EXPECT_FALSE(prefix(g, "yess"));
  EXPECT_FALSE(prefix(g, "x"));
}

TEST(Grammar, RepetitionsAndBounds) {
  auto g = compile("root ::= [a-c]+ \"-\" [0-9]{2,3} x?\nx ::= \"!\"*");
  ASSERT_TRUE(g);
  EXPECT_TRUE(complete(g, "abc-12"));
  EXPECT_TRUE(complete(g, "a-123"));
  EXPECT_TRUE(complete(g, "a-123!!!"));
  EXPECT_FALSE(complete(g, "a-1"));
  EXPECT_TRUE(prefix(g, "a-1"));
  EXPECT_FALSE(prefix(g, "a-1234"));
  EXPECT_FALSE(prefix(g, "-12"));
  EXPECT_FALSE(prefix(g, "abd"));

  auto exact = compile("root ::= \"x\"{3}");
  ASSERT_TRUE(exact);
  EXPECT_TRUE(complete(exact, "xxx"));
  EXPECT_FALSE(complete(exact, "xx"));
  EXPECT_FALSE(prefix(exact, "xxxx"));
  auto open = compile("root ::= \"x\"{2,}");
  ASSERT_TRUE(open);
  EXPECT_FALSE(complete(open, "x"));
  EXPECT_TRUE(complete(open, "xxxxxxx"));
}

TEST(Grammar, NegatedClassesAnyCharEscapesAndUnicode) {
  auto g = compile(R"(root ::= "\"" [^"\\\n]* "\"" . [\u00e9\x41-\x43] "\u4e2d")");
  ASSERT_TRUE(g);
  EXPECT_TRUE(complete(g, "\"hello\"!\xC3\xA9\xE4\xB8\xAD"));  // "hello"!é中
  EXPECT_TRUE(complete(g, "\"\"xB\xE4\xB8\xAD"));
  EXPECT_FALSE(prefix(g, "\"a\nb"));
  EXPECT_FALSE(prefix(g, "\"\"xD"));
  // A character split over two pieces: the first byte alone is a prefix.
  GrammarMatcher m(g);
  EXPECT_TRUE(m.accept("\"\"x"));
  EXPECT_TRUE(m.accept("\xC3"));
  EXPECT_FALSE(m.is_complete());
  EXPECT_FALSE(m.accept("\xA8"));  // è is not in the class; the state stays after \xC3
  EXPECT_TRUE(m.accept("\xA9"));
  EXPECT_TRUE(m.accept("\xE4\xB8\xAD"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_FALSE(m.can_continue());
  // A lead byte no allowed character starts with is refused at once.
  GrammarMatcher n(g);
  EXPECT_TRUE(n.accept("\"\"x"));
  EXPECT_FALSE(n.accept("\xE4"));
  EXPECT_FALSE(n.accept("\xFF"));
}

TEST(Grammar, MalformedUtf8IsRefusedAtTheFirstByteThatRulesItOut) {
  auto g = compile("root ::= [^a]*");
  ASSERT_TRUE(g);
  EXPECT_TRUE(prefix(g, "\xE4\xB8"));   // a prefix of U+4E2D
  EXPECT_FALSE(prefix(g, "\xE0\x80"));  // only overlong forms start so
  EXPECT_FALSE(prefix(g, "\xED\xA0"));  // a surrogate half
  EXPECT_FALSE(prefix(g, "\xC0"));
  EXPECT_FALSE(prefix(g, "\xF4\x90"));                         // past U+10FFFF
  EXPECT_FALSE(Grammar::parse("root ::= \"\xC1\x81\"").ok());  // overlong in the grammar
}

TEST(Grammar, MultiLineRulesAndComments) {
  auto g = compile(R"(# a list of words
root ::= word ( "," ws word )*   # comma separated
ws ::= " "?
word ::=
  [a-z]+
  | "<" [0-9] ">"
)");
  ASSERT_TRUE(g);
  EXPECT_TRUE(complete(g, "ab, cd,<5>"));
  EXPECT_FALSE(prefix(g, "ab,  cd"));
}

TEST(Grammar, RecursionThatConsumesIsFine) {
  auto g = compile(R"g(root ::= "(" root ")" | "x")g");
  ASSERT_TRUE(g);
  EXPECT_TRUE(complete(g, "((x))"));
  EXPECT_FALSE(complete(g, "((x)"));
  EXPECT_TRUE(prefix(g, "((x)"));
  EXPECT_FALSE(prefix(g, "((x)))"));
}

TEST(Grammar, LiteralsRepeatWhole) {
  auto g = compile(R"(root ::= "ab"{2} "c"+ "de"?)");
  ASSERT_TRUE(g);
  EXPECT_TRUE(complete(g, "ababc"));
  EXPECT_TRUE(complete(g, "ababcccde"));
  EXPECT_FALSE(prefix(g, "abb"));
  EXPECT_FALSE(complete(g, "ababcd"));
}

// Grammars a request may send to stall the engine: matching stays bounded.
TEST(Grammar, PathologicalGrammarsStayBounded) {
  auto empty_chain = compile(R"(root ::= ("" | ""){0,4096} "x")");
  ASSERT_TRUE(empty_chain);
  EXPECT_TRUE(complete(empty_chain, "x"));

  // Past the parse-state bounds a grammar is refused, quickly, instead of matched slowly.
  const auto start = std::chrono::steady_clock::now();
  auto ambiguous = compile(R"(root ::= ("a"{0,4096}){0,4096})");
  ASSERT_TRUE(ambiguous);
  GrammarMatcher m(ambiguous);
  EXPECT_FALSE(m.can_continue());
  EXPECT_FALSE(m.accept("a"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Within them an ambiguous grammar matches.
  auto moderate = compile(R"(root ::= ("a"{0,8}){0,8})");
  ASSERT_TRUE(moderate);
  EXPECT_TRUE(complete(moderate, std::string(64, 'a')));
  EXPECT_FALSE(prefix(moderate, std::string(65, 'a')));

  auto g = Grammar::parse(R"(root ::= (("x"{4096}){4096}){4096} ("y"{4096}){4096})");
  EXPECT_TRUE(g.ok()) << g.status().message();

  // Deep nesting is an error, not a deep recursion.
  auto deep =
      Grammar::parse("root ::= " + std::string(100000, '(') + "\"a\"" + std::string(100000, ')'));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested deeper than 128"), std::string::npos);
  // A long chain of rules that can match nothing is walked without recursion.
  std::string chain = "root ::= r0 \"x\"\n";
  for (int i = 0; i < 20000; ++i) chain += fmt::format("r{} ::= r{} | \"\"\n", i, i + 1);
  chain += "r20000 ::= \"\"\n";
  auto long_chain = compile(chain);
  ASSERT_TRUE(long_chain);
  GrammarMatcher lc(long_chain);
  EXPECT_FALSE(lc.accept("x"));  // more expansions than one character may cost: refused
}

TEST(Grammar, ErrorsNameTheProblem) {
  struct Case {
    const char* gbnf;
    const char* message;
  };
  const Case cases[] = {
      {"root ::= foo", "undefined rule 'foo'"},
      {"start ::= \"x\"", "no 'root' rule"},
      {"root ::= \"x\"\nroot ::= \"y\"", "defined twice"},
      {"root ::= root \"x\" | \"y\"", "'root' is left-recursive"},
      {"root ::= a\na ::= b? a \"x\"\nb ::= \"b\"", "left-recursive"},
      {"root ::= (\"a\"?)*", "left-recursive"},
      {"root ::= \"abc", "line 1 column 10: unterminated string literal"},
      {"root ::= [a-", "unterminated character class"},
      {"root ::= [z-a]", "below its start"},
      {"root ::= (\"a\"", "unclosed '('"},
      {"root ::= * \"a\"", "repeats nothing"},
      {"root ::= \"a\"{3,2}", "n < m"},
      {"root ::= \"a\"{99999}", "repetition count above"},
      {"root ::= \"\\q\"", "unknown escape"},
      {"root ::= \"a\"*+", "repeats nothing"},
      {"root = \"a\"", "expected '::='"},
      {"root ::= \"a\" ;", "unexpected character ';'"},
  };
  for (const Case& c : cases) {
    auto g = Grammar::parse(c.gbnf);
    ASSERT_FALSE(g.ok()) << c.gbnf;
    EXPECT_NE(g.status().message().find(c.message), std::string::npos)
        << c.gbnf << " -> " << g.status().message();
  }
}

TEST(Grammar, LiteralEscaping) {
  const std::string text = "a\"b\\c\nd\x01";
  auto g = compile("root ::= " + gbnf_literal(text));
  ASSERT_TRUE(g);
  EXPECT_TRUE(complete(g, text));
}

}  // namespace
}  // namespace tenbin::grammar
