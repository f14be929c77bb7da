// Splits chat-template source into tokens: literal text between tags, tag delimiters
// ({{ }}, {% %}) and the names, literals and operators inside them. Applies Jinja's
// whitespace rules as Hugging Face configures them (trim_blocks and lstrip_blocks on, `-`
// strips, `+` keeps) and drops comments ({# #}) and one trailing newline of the source.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/chat_template/ast.h"

namespace tenbin::jinja {

enum class TokenKind {
  kText,
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,
  kInt,
  kFloat,
  kOp,  // operators and punctuation: + - * / // % ** ~ == != < > <= >= = ( ) [ ] { } , . : |
  kEof,
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  Pos pos;
  std::string text;  // text, name, operator, or decoded string literal
  int64_t int_value = 0;
  double float_value = 0;
};

// Throws TemplateError (with line:col) on an unclosed tag, comment or string, or a character
// that cannot start a token.
std::vector<Token> tokenize(std::string_view source);

}  // namespace tenbin::jinja
