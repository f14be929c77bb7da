// Incremental recognizer for a Grammar, fed UTF-8 bytes: after each byte it knows whether the
// text so far is a prefix of some sentence, and whether it is a whole one. The state is the set
// of parse stacks the text allows (each stack: element positions still to match, innermost
// last, its top always a character class), deduplicated after every character, so an
// ambiguous grammar costs stacks, not backtracking. A multi-byte character is checked byte by
// byte: its first bytes are accepted while some stack can still match a code point that starts
// with them. Cheap to copy (a speculative walk over a token's bytes copies it).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include "engine/grammar/grammar.h"

namespace tenbin::grammar {

class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);

  // Consumes `bytes` when the text stays a prefix of a sentence; otherwise returns false and
  // leaves the state as it was.
  bool accept(std::string_view bytes);
  // Whether `bytes` would be accepted (the state is not changed).
  bool can_accept(std::string_view bytes) const;
  // One byte; on false the state is unchanged.
  bool accept_byte(uint8_t byte);

  // The text so far is a whole sentence.
  bool is_complete() const;
  // Some continuation exists (false once a sentence is complete and nothing may follow).
  bool can_continue() const;

 private:
  using Stack = std::vector<uint32_t>;
  // Bounds on the work one character may cost, whatever grammar a request sends: at most
  // kMaxStacks parse stacks live, at most kMaxExpansions stacks visited expanding them. A
  // character past either bound is refused (the sequence then stops) instead of stalling the
  // engine thread every other request shares. Grammars from JSON schemas stay far below.
  static constexpr size_t kMaxStacks = 512;
  static constexpr size_t kMaxExpansions = 1 << 14;
  struct Expansion {
    std::vector<Stack> out;
    std::set<Stack> seen;
    bool overflow = false;
  };
  bool accept_code_point(uint32_t cp);
  bool can_complete(uint32_t bits, int left, int len) const;
  bool accept_all(std::string_view bytes);  // in place; may stop part way on false
  void expand(Stack stack, Expansion* x) const;
  bool any_top_matches(uint32_t lo, uint32_t hi) const;

  std::shared_ptr<const Grammar> grammar_;
  std::vector<Stack> stacks_;
  // A multi-byte character under way: its bits so far and the continuation bytes still due.
  uint32_t partial_ = 0;
  int partial_left_ = 0;
  int partial_len_ = 0;
};

}  // namespace tenbin::grammar
