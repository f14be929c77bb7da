// The GBNF parser (recursive descent over the UTF-8 source) and the compile-time checks:
// undefined rules, a missing root, left recursion.
#include "engine/grammar/grammar.h"

#include <algorithm>
#include <map>

#include "model/tokenizer/unicode_utils.h"

namespace tenbin::grammar {

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr int64_t kMaxRepetition = 4096;
constexpr size_t kMaxElements = 1 << 18;
constexpr int kMaxNesting = 128;

// One parsed element before flattening.
struct Item {
  bool is_rule = false;
  uint32_t rule = 0;
  bool negated = false;
  std::vector<CodeRange> ranges;
};
using Sequence = std::vector<Item>;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

class GrammarParser {
 public:
  explicit GrammarParser(std::string_view src) : src_(src) {}

  Expected<Grammar> run() {
    skip_space();
    while (ok() && pos_ < src_.size()) {
      const size_t at = pos_;
      std::string name = parse_name();
      if (!ok()) break;
      skip_space();
      if (src_.substr(pos_, 3) != "::=") {
        fail(at, fmt::format("expected '::=' after the rule name '{}'", name));
        break;
      }
      pos_ += 3;
      const uint32_t id = rule_id(name);
      if (defined_[id]) {
        fail(at, fmt::format("the rule '{}' is defined twice", name));
        break;
      }
      defined_[id] = true;
      rules_[id] = parse_alternatives(name, /*nested=*/false);
      skip_space();
    }
    if (!ok()) return Status::Error(error_);
    for (size_t r = 0; r < names_.size(); ++r) {
      if (!defined_[r])
        return Status::Errorf("the grammar uses the undefined rule '{}'", names_[r]);
    }
    auto root = by_name_.find("root");
    if (root == by_name_.end()) return Status::Error("the grammar has no 'root' rule");
    if (Status st = check_left_recursion(); !st.ok()) return st;
    return flatten(root->second);
  }

 private:
  bool ok() const { return error_.empty(); }

  void fail(size_t at, const std::string& what) {
    if (!ok()) return;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < src_.size(); ++i) {
      if (src_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    error_ = fmt::format("grammar line {} column {}: {}", line, col, what);
  }

  // Whitespace, newlines and # comments.
  void skip_space() {
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string parse_name() {
    const size_t start = pos_;
    while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
    if (pos_ == start) {
      fail(start, pos_ < src_.size() ? fmt::format("expected a rule name, found '{}'", src_[pos_])
                                     : std::string("expected a rule name at the end"));
      return {};
    }
    return std::string(src_.substr(start, pos_ - start));
  }

  // True when a rule name followed by '::=' starts at pos_ (the next rule's head).
  bool at_rule_head() const {
    size_t p = pos_;
    while (p < src_.size() && is_name_char(src_[p])) ++p;
    if (p == pos_) return false;
    while (p < src_.size() && (src_[p] == ' ' || src_[p] == '\t')) ++p;
    return src_.substr(p, 3) == "::=";
  }

  uint32_t rule_id(const std::string& name) {
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
    const auto id = static_cast<uint32_t>(names_.size());
    by_name_.emplace(name, id);
    names_.push_back(name);
    rules_.emplace_back();
    defined_.push_back(false);
    return id;
  }

  uint32_t helper_rule(const std::string& base, std::vector<Sequence> alternatives) {
    std::string name;
    do {
      name = fmt::format("{}-{}", base, ++helper_count_);
    } while (by_name_.count(name) != 0);
    const uint32_t id = rule_id(name);
    defined_[id] = true;
    rules_[id] = std::move(alternatives);
    return id;
  }

  std::vector<Sequence> parse_alternatives(const std::string& rule, bool nested) {
    std::vector<Sequence> alts;
    alts.push_back(parse_sequence(rule, nested));
    while (ok()) {
      skip_space();
      if (pos_ >= src_.size() || src_[pos_] != '|') break;
      ++pos_;
      alts.push_back(parse_sequence(rule, nested));
    }
    return alts;
  }

  Sequence parse_sequence(const std::string& rule, bool nested) {
    Sequence seq;
    size_t atom = 0;  // where the last atom (what a repetition repeats) starts in seq
    while (ok()) {
      skip_space();
      if (pos_ >= src_.size()) break;
      const char c = src_[pos_];
      const size_t at = pos_;
      if (c == '|' || c == ')') break;
      if (c != '*' && c != '+' && c != '?' && c != '{') atom = seq.size();
      if (c == '"') {
        ++pos_;
        while (ok() && pos_ < src_.size() && src_[pos_] != '"') {
          const uint32_t cp = parse_char(/*in_class=*/false);
          seq.push_back(Item{false, 0, false, {{cp, cp}}});
        }
        if (pos_ >= src_.size()) return fail(at, "unterminated string literal"), seq;
        ++pos_;
      } else if (c == '[') {
        seq.push_back(parse_class());
      } else if (c == '.') {
        ++pos_;
        seq.push_back(Item{false, 0, false, {{0, kMaxCodePoint}}});
      } else if (c == '(') {
        if (depth_ >= kMaxNesting) {
          return fail(at, fmt::format("groups nested deeper than {}", kMaxNesting)), seq;
        }
        ++pos_;
        ++depth_;
        auto alts = parse_alternatives(rule, /*nested=*/true);
        --depth_;
        skip_space();
        if (pos_ >= src_.size() || src_[pos_] != ')') return fail(at, "unclosed '('"), seq;
        ++pos_;
        seq.push_back(Item{true, helper_rule(rule, std::move(alts)), false, {}});
      } else if (is_name_char(c)) {
        if (at_rule_head()) {
          if (nested) fail(at, "a rule definition inside '(' ... ')'");
          break;
        }
        seq.push_back(Item{true, rule_id(parse_name()), false, {}});
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (atom >= seq.size()) return fail(at, fmt::format("'{}' repeats nothing", c)), seq;
        int64_t min = 0, max = -1;  // -1: unbounded
        ++pos_;
        if (c == '+') min = 1;
        if (c == '?') max = 1;
        if (c == '{') parse_bounds(at, &min, &max);
        if (!ok()) break;
        // A literal of several characters repeats whole: it becomes one helper rule.
        Item last = seq.size() - atom == 1
                        ? std::move(seq.back())
                        : Item{true,
                               helper_rule(rule, {Sequence(seq.begin() + atom, seq.end())}),
                               false,
                               {}};
        seq.resize(atom);
        repeat(rule, last, min, max, &seq);
        atom = seq.size();  // a repetition of a repetition needs parentheses
      } else {
        fail(at, fmt::format("unexpected character '{}'", c));
      }
    }
    return seq;
  }

  void parse_bounds(size_t at, int64_t* min, int64_t* max) {
    auto number = [&]() -> int64_t {
      skip_space();
      const size_t start = pos_;
      int64_t v = 0;
      while (pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '9') {
        v = std::min<int64_t>(v * 10 + (src_[pos_] - '0'), kMaxRepetition + 1);
        ++pos_;
      }
      return pos_ == start ? -1 : v;
    };
    *min = number();
    if (*min < 0) return fail(at, "expected a number after '{'");
    skip_space();
    if (pos_ < src_.size() && src_[pos_] == ',') {
      ++pos_;
      *max = number();  // -1: "{m,}"
    } else {
      *max = *min;
    }
    skip_space();
    if (pos_ >= src_.size() || src_[pos_] != '}') return fail(at, "expected '}' to close '{'");
    ++pos_;
    if (*min > kMaxRepetition || *max > kMaxRepetition) {
      return fail(at, fmt::format("a repetition count above {}", kMaxRepetition));
    }
    if (*max >= 0 && *max < *min) return fail(at, "a repetition {m,n} with n < m");
  }

  // Appends `x` repeated min..max times (max -1: unbounded) to `seq`.
  void repeat(const std::string& rule, const Item& x, int64_t min, int64_t max, Sequence* seq) {
    for (int64_t i = 0; i < min; ++i) seq->push_back(x);
    if (max < 0) {  // star ::= x star |
      const uint32_t star = helper_rule(rule, {});
      rules_[star] = {Sequence{x, Item{true, star, false, {}}}, Sequence{}};
      seq->push_back(Item{true, star, false, {}});
      return;
    }
    // (max - min) optional copies, nested: opt_k ::= x opt_(k-1) |
    int64_t optional = max - min;
    if (optional == 0) return;
    uint32_t inner = helper_rule(rule, {Sequence{x}, Sequence{}});
    for (int64_t k = 1; k < optional; ++k) {
      inner = helper_rule(rule, {Sequence{x, Item{true, inner, false, {}}}, Sequence{}});
    }
    seq->push_back(Item{true, inner, false, {}});
  }

  Item parse_class() {
    const size_t at = pos_;
    ++pos_;  // '['
    Item item;
    if (pos_ < src_.size() && src_[pos_] == '^') {
      item.negated = true;
      ++pos_;
    }
    while (ok() && pos_ < src_.size() && src_[pos_] != ']') {
      const uint32_t lo = parse_char(/*in_class=*/true);
      uint32_t hi = lo;
      if (pos_ + 1 < src_.size() && src_[pos_] == '-' && src_[pos_ + 1] != ']') {
        ++pos_;
        hi = parse_char(/*in_class=*/true);
        if (ok() && hi < lo) fail(at, "a character range whose end is below its start");
      }
      item.ranges.push_back({lo, hi});
    }
    if (ok() && pos_ >= src_.size()) fail(at, "unterminated character class");
    if (ok()) ++pos_;  // ']'
    return item;
  }

  // One character of a literal or class: an escape or a UTF-8 encoded code point.
  uint32_t parse_char(bool in_class) {
    const size_t at = pos_;
    const auto byte = static_cast<unsigned char>(src_[pos_]);
    if (byte == '\\') {
      if (pos_ + 1 >= src_.size()) return fail(at, "a '\\' at the end"), 0;
      const char e = src_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case 'n':
          return '\n';
        case 't':
          return '\t';
        case 'r':
          return '\r';
        case 'x':
          return parse_hex(at, 2);
        case 'u':
          return parse_hex(at, 4);
        case 'U':
          return parse_hex(at, 8);
        case '\\':
        case '"':
        case '[':
        case ']':
        case '-':
        case '^':
        case '/':
          return static_cast<unsigned char>(e);
        default:
          return fail(at, fmt::format("unknown escape '\\{}'", e)), 0;
      }
    }
    if (!in_class && byte == '\n') return fail(at, "a line break inside a string literal"), 0;
    const uint32_t cp = unicode::next_code_point(src_, pos_);
    if (cp == unicode::kInvalid) return fail(at, "invalid UTF-8 in the grammar"), 0;
    return cp;
  }

  uint32_t parse_hex(size_t at, int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      if (pos_ >= src_.size()) return fail(at, "a short hexadecimal escape"), 0;
      const char c = src_[pos_++];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return fail(at, fmt::format("'{}' in a hexadecimal escape", c)), 0;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    if (v > kMaxCodePoint) return fail(at, "an escape past U+10FFFF"), 0;
    return v;
  }

  // A rule is left-recursive when it can reach itself through leading elements that can all
  // match nothing.
  Status check_left_recursion() const {
    const size_t n = rules_.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Sequence& alt : rules_[r]) {
          if (std::all_of(alt.begin(), alt.end(),
                          [&](const Item& i) { return i.is_rule && nullable[i.rule]; })) {
            nullable[r] = changed = true;
            break;
          }
        }
      }
    }
    std::vector<std::vector<uint32_t>> leading(n);
    for (size_t r = 0; r < n; ++r) {
      for (const Sequence& alt : rules_[r]) {
        for (const Item& i : alt) {
          if (!i.is_rule) break;
          leading[r].push_back(i.rule);
          if (!nullable[i.rule]) break;
        }
      }
    }
    // Depth-first search with an explicit stack (helper-rule chains can be thousands deep).
    std::vector<int> state(n, 0);                   // 0 new, 1 on the path, 2 done
    std::vector<std::pair<uint32_t, size_t>> path;  // (rule, next edge to follow)
    for (uint32_t r = 0; r < n; ++r) {
      if (state[r] != 0) continue;
      state[r] = 1;
      path.push_back({r, 0});
      while (!path.empty()) {
        auto& [rule, edge] = path.back();
        if (edge == leading[rule].size()) {
          state[rule] = 2;
          path.pop_back();
          continue;
        }
        const uint32_t next = leading[rule][edge++];
        if (state[next] == 1) {
          return Status::Errorf(
              "the grammar rule '{}' is left-recursive: it can reach itself without matching a "
              "character (through itself or a repetition of something that can be empty)",
              names_[next]);
        }
        if (state[next] == 0) {
          state[next] = 1;
          path.push_back({next, 0});
        }
      }
    }
    return Status::Ok();
  }

  Expected<Grammar> flatten(uint32_t root) {
    Grammar g;
    g.root_ = root;
    g.alternatives_.resize(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
      for (const Sequence& alt : rules_[r]) {
        g.alternatives_[r].push_back(static_cast<uint32_t>(g.elements_.size()));
        for (const Item& i : alt) {
          Element e;
          if (i.is_rule) {
            e.kind = ElementKind::kRule;
            e.rule = i.rule;
          } else {
            e.kind = ElementKind::kChars;
            e.negated = i.negated;
            e.first_range = static_cast<uint32_t>(g.ranges_.size());
            g.ranges_.insert(g.ranges_.end(), i.ranges.begin(), i.ranges.end());
            e.end_range = static_cast<uint32_t>(g.ranges_.size());
          }
          g.elements_.push_back(e);
        }
        g.elements_.push_back(Element{});  // kEnd
      }
      if (g.elements_.size() > kMaxElements) {
        return Status::Errorf(
            "the grammar is too large (over {} elements once repetitions are "
            "expanded)",
            kMaxElements);
      }
    }
    return g;
  }

  std::string_view src_;
  size_t pos_ = 0;
  std::string error_;
  std::map<std::string, uint32_t, std::less<>> by_name_;
  std::vector<std::string> names_;
  std::vector<std::vector<Sequence>> rules_;
  std::vector<bool> defined_;
  int helper_count_ = 0;
  int depth_ = 0;  // '(' nesting
};

Expected<Grammar> Grammar::parse(std::string_view gbnf) {
  return GrammarParser(gbnf).run();
}

bool Grammar::matches(const Element& e, uint32_t cp) const {
  bool in = false;
  for (uint32_t i = e.first_range; i < e.end_range && !in; ++i) {
    in = cp >= ranges_[i].lo && cp <= ranges_[i].hi;
  }
  return in != e.negated;
}

bool Grammar::matches_any(const Element& e, uint32_t lo, uint32_t hi) const {
  if (!e.negated) {
    for (uint32_t i = e.first_range; i < e.end_range; ++i) {
      if (ranges_[i].lo <= hi && ranges_[i].hi >= lo) return true;
    }
    return false;
  }
  // Negated: some code point of [lo, hi] lies outside every range. Walk up from lo, jumping
  // past each range that covers the current point.
  uint32_t cp = lo;
  for (bool moved = true; moved;) {
    moved = false;
    for (uint32_t i = e.first_range; i < e.end_range; ++i) {
      if (cp >= ranges_[i].lo && cp <= ranges_[i].hi) {
        if (ranges_[i].hi >= hi) return false;
        cp = ranges_[i].hi + 1;
        moved = true;
      }
    }
  }
  return true;
}

std::string gbnf_literal(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (b < 0x20 || b == 0x7F) {
      out += fmt::format("\\x{:02X}", b);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace tenbin::grammar
