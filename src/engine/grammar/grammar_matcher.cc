#include "engine/grammar/grammar_matcher.h"

#include <algorithm>
#include <set>

namespace tenbin::grammar {

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// Length of the UTF-8 sequence a lead byte starts (0: not a lead byte), and the smallest code
// point of that length (shorter encodings are overlong).
int utf8_length(uint8_t b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}
constexpr uint32_t kMinOfLength[5] = {0, 0, 0x80, 0x800, 0x10000};

}  // namespace

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar)
    : grammar_(std::move(grammar)) {
  Expansion x;
  for (uint32_t alt : grammar_->alternatives(grammar_->root())) {
    Stack s;
    if (grammar_->elements()[alt].kind != ElementKind::kEnd) s.push_back(alt);
    expand(std::move(s), &x);
  }
  // An overflowing start leaves no stacks: nothing is accepted.
  if (!x.overflow && x.out.size() <= kMaxStacks) stacks_ = std::move(x.out);
  std::sort(stacks_.begin(), stacks_.end());
  stacks_.erase(std::unique(stacks_.begin(), stacks_.end()), stacks_.end());
}

// Replaces a rule reference on top of `stack` by each of the rule's alternatives (and pops
// finished ones) until every resulting stack is empty or has a character class on top. Stacks
// met before in this expansion are not expanded again (chains of rules that can match nothing
// would otherwise multiply paths); past kMaxExpansions the expansion gives up (overflow).
void GrammarMatcher::expand(Stack start, Expansion* x) const {
  const auto& elements = grammar_->elements();
  std::vector<Stack> work;  // a work list, not recursion: rule chains may be thousands deep
  work.push_back(std::move(start));
  while (!work.empty() && !x->overflow) {
    Stack stack = std::move(work.back());
    work.pop_back();
    if (!x->seen.insert(stack).second) continue;
    if (x->seen.size() > kMaxExpansions) {
      x->overflow = true;
      return;
    }
    if (stack.empty() || elements[stack.back()].kind == ElementKind::kChars) {
      x->out.push_back(std::move(stack));
      continue;
    }
    const uint32_t pos = stack.back();
    const uint32_t rule = elements[pos].rule;
    stack.pop_back();
    if (elements[pos + 1].kind != ElementKind::kEnd) stack.push_back(pos + 1);
    for (uint32_t alt : grammar_->alternatives(rule)) {
      Stack next = stack;
      if (elements[alt].kind != ElementKind::kEnd) next.push_back(alt);
      work.push_back(std::move(next));
    }
  }
}

bool GrammarMatcher::any_top_matches(uint32_t lo, uint32_t hi) const {
  const auto& elements = grammar_->elements();
  for (const Stack& s : stacks_) {
    if (!s.empty() && grammar_->matches_any(elements[s.back()], lo, hi)) return true;
  }
  return false;
}

bool GrammarMatcher::accept_code_point(uint32_t cp) {
  const auto& elements = grammar_->elements();
  Expansion x;
  for (const Stack& s : stacks_) {
    if (s.empty()) continue;
    const uint32_t pos = s.back();
    if (!grammar_->matches(elements[pos], cp)) continue;
    Stack n(s.begin(), s.end() - 1);
    if (elements[pos + 1].kind != ElementKind::kEnd) n.push_back(pos + 1);
    expand(std::move(n), &x);
  }
  std::vector<Stack>& next = x.out;
  // Too ambiguous a grammar (see kMaxStacks) refuses the text rather than stall the engine.
  if (next.empty() || x.overflow || next.size() > kMaxStacks) return false;
  std::sort(next.begin(), next.end());
  next.erase(std::unique(next.begin(), next.end()), next.end());
  stacks_ = std::move(next);
  return true;
}

// Whether a character whose first bytes carry `bits`, with `left` continuation bytes still due
// (of a `len`-byte sequence), can still be one some stack matches: a valid code point (not
// overlong, not a surrogate, at most U+10FFFF) in the range those bytes leave open.
bool GrammarMatcher::can_complete(uint32_t bits, int left, int len) const {
  const uint32_t first = bits << (6 * left);
  const uint32_t lo = std::max(first, kMinOfLength[len]);
  const uint32_t hi = std::min(first | ((1u << (6 * left)) - 1), kMaxCodePoint);
  if (lo > hi || (lo >= 0xD800 && hi <= 0xDFFF)) return false;  // only surrogates left
  return any_top_matches(lo, hi);
}

bool GrammarMatcher::accept_byte(uint8_t b) {
  if (partial_left_ > 0) {
    if ((b & 0xC0) != 0x80) return false;
    const uint32_t bits = (partial_ << 6) | (b & 0x3F);
    const int left = partial_left_ - 1;
    if (left == 0) {
      if (bits < kMinOfLength[partial_len_] || bits > kMaxCodePoint ||
          (bits >= 0xD800 && bits <= 0xDFFF) || !accept_code_point(bits)) {
        return false;
      }
      partial_ = 0;
      partial_left_ = partial_len_ = 0;
      return true;
    }
    if (!can_complete(bits, left, partial_len_)) return false;
    partial_ = bits;
    partial_left_ = left;
    return true;
  }
  const int len = utf8_length(b);
  if (len == 0) return false;
  if (len == 1) return accept_code_point(b);
  const uint32_t bits = b & (0x7Fu >> len);
  if (!can_complete(bits, len - 1, len)) return false;
  partial_ = bits;
  partial_left_ = len - 1;
  partial_len_ = len;
  return true;
}

bool GrammarMatcher::accept_all(std::string_view bytes) {
  for (char c : bytes) {
    if (!accept_byte(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

bool GrammarMatcher::accept(std::string_view bytes) {
  GrammarMatcher next = *this;
  if (!next.accept_all(bytes)) return false;
  *this = std::move(next);
  return true;
}

bool GrammarMatcher::can_accept(std::string_view bytes) const {
  GrammarMatcher next = *this;
  return next.accept_all(bytes);
}

bool GrammarMatcher::is_complete() const {
  if (partial_left_ > 0) return false;
  return std::any_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return s.empty(); });
}

bool GrammarMatcher::can_continue() const {
  return partial_left_ > 0 ||
         std::any_of(stacks_.begin(), stacks_.end(), [](const Stack& s) { return !s.empty(); });
}

}  // namespace tenbin::grammar
