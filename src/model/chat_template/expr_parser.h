// Recursive-descent parser for Jinja expressions over the lexer's tokens, with Jinja's
// precedence (lowest first): conditional `a if b else c`, or, and, not, comparisons and `in`,
// + -, ~, * / // %, **, unary - +, then postfix (.attr, [i], [a:b:c], call), filters `|` and
// tests `is`. Also home of TokenCursor, the token reader the statement parser shares.
#pragma once

#include <string_view>
#include <vector>

#include "model/chat_template/ast.h"
#include "model/chat_template/lexer.h"

namespace tenbin::jinja {

class TokenCursor {
 public:
  explicit TokenCursor(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  const Token& peek(size_t ahead = 0) const {
    size_t k = std::min(i_ + ahead, tokens_.size() - 1);
    return tokens_[k];
  }
  const Token& next() {
    const Token& t = tokens_[i_];
    if (i_ + 1 < tokens_.size()) ++i_;
    return t;
  }
  bool is_op(std::string_view op, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kOp && peek(ahead).text == op;
  }
  bool is_name(std::string_view name, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kName && peek(ahead).text == name;
  }
  bool accept_op(std::string_view op);
  bool accept_name(std::string_view name);
  const Token& expect_op(std::string_view op);
  const Token& expect_name();
  // Nesting guard so a hostile template cannot overflow the stack.
  void enter(Pos pos);
  void leave() { --depth_; }

  [[noreturn]] static void fail(const Token& at, const std::string& message);

 private:
  std::vector<Token> tokens_;
  size_t i_ = 0;
  int depth_ = 0;
};

// A full expression, conditional included.
ExprPtr parse_expression(TokenCursor& in);
// Without the trailing `if ... else ...` (the iterable of `for x in y if cond`).
ExprPtr parse_or(TokenCursor& in);
// A human description of a token for error messages: "'%}'", "name 'foo'", "end of template".
std::string describe(const Token& token);

}  // namespace tenbin::jinja
