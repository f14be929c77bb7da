// A context-free grammar over Unicode code points, written in GBNF, the notation of
// llama.cpp's `grammar` parameter: rules `name ::= ...`, "literals" (with \n \t \r \\ \" \xHH
// \uHHHH \UHHHHHHHH escapes), [character classes] and [^negated] ones, `.` for any character,
// ( ) groups, | alternatives, the repetitions * + ? {m} {m,} {m,n}, and # comments. A rule
// may span lines. The start rule is `root`.
//
// Compiled into flat element arrays that GrammarMatcher walks: each rule has alternatives, each
// alternative is a run of elements (a character class or a rule reference) ended by kEnd.
// Groups and repetitions become helper rules (x* is `h ::= x h |`). Left recursion, including
// through parts that can match nothing (`(a?)*`), is refused at compile time with the rule's
// name, so matching never loops.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace tenbin::grammar {

struct CodeRange {
  uint32_t lo = 0, hi = 0;  // inclusive
};

enum class ElementKind : uint8_t { kEnd, kChars, kRule };

struct Element {
  ElementKind kind = ElementKind::kEnd;
  bool negated = false;                     // kChars: matches code points outside the ranges
  uint32_t first_range = 0, end_range = 0;  // kChars: [first, end) in Grammar::ranges()
  uint32_t rule = 0;                        // kRule
};

class Grammar {
 public:
  static Expected<Grammar> parse(std::string_view gbnf);

  const std::vector<Element>& elements() const { return elements_; }
  // Start indices in elements() of the alternatives of `rule`.
  const std::vector<uint32_t>& alternatives(uint32_t rule) const { return alternatives_[rule]; }
  uint32_t root() const { return root_; }

  // Whether the character class `e` matches `cp`, or some code point of [lo, hi].
  bool matches(const Element& e, uint32_t cp) const;
  bool matches_any(const Element& e, uint32_t lo, uint32_t hi) const;

 private:
  friend class GrammarParser;
  std::vector<Element> elements_;
  std::vector<CodeRange> ranges_;
  std::vector<std::vector<uint32_t>> alternatives_;
  uint32_t root_ = 0;
};

// The GBNF literal for `text` (quoted, with ", \ and control characters escaped).
std::string gbnf_literal(std::string_view text);

}  // namespace tenbin::grammar
