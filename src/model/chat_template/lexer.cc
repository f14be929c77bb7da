// Tokenizer for the Jinja subset: text/tag splitting with whitespace control, then the
// expression tokens inside each tag.
#include "model/chat_template/lexer.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

namespace tenbin::jinja {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {
    // keep_trailing_newline is off in Jinja: one final newline of the source is dropped.
    if (src_.size() >= 2 && src_.substr(src_.size() - 2) == "\r\n") {
      src_.remove_suffix(2);
    } else if (!src_.empty() && src_.back() == '\n') {
      src_.remove_suffix(1);
    }
  }

  std::vector<Token> run() {
    size_t text_start = 0;
    bool strip_next = false;  // the previous tag ended with '-'
    while (true) {
      size_t open = find_tag(text_start);
      std::string_view text = src_.substr(text_start, open - text_start);
      if (strip_next) {
        size_t k = 0;
        while (k < text.size() && is_space(text[k])) ++k;
        text.remove_prefix(k);
      }
      if (open == src_.size()) {
        push_text(text, text_start);
        break;
      }
      char type = src_[open + 1];
      char modifier = open + 2 < src_.size() ? src_[open + 2] : '\0';
      if (modifier == '-') {
        while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
      } else if (modifier != '+' && type != '{') {
        text = lstrip_line(text, text_start);
      }
      push_text(text, text_start);
      size_t body = open + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
      if (type == '#') {
        size_t close = src_.find("#}", body);
        if (close == std::string_view::npos) fail(open, "unclosed comment '{#'");
        bool dash = close > body && src_[close - 1] == '-';
        bool plus = close > body && src_[close - 1] == '+';
        text_start = after_close(close + 2, dash, plus, &strip_next);
        continue;
      }
      text_start = lex_tag(open, body, type == '{', &strip_next);
    }
    tokens_.push_back(Token{TokenKind::kEof, pos_at(src_.size()), "", 0, 0});
    return std::move(tokens_);
  }

 private:
  // Offset of the next "{{", "{%" or "{#" at or after `from`, or the end of the source.
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return src_.size();
  }

  // lstrip_blocks: spaces and tabs between the start of a line and a block tag go.
  std::string_view lstrip_line(std::string_view text, size_t text_start) const {
    size_t nl = text.rfind('\n');
    size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
    bool at_line_start =
        nl != std::string_view::npos || text_start == 0 || src_[text_start - 1] == '\n';
    if (!at_line_start) return text;
    for (size_t k = line_start; k < text.size(); ++k) {
      if (text[k] != ' ' && text[k] != '\t') return text;
    }
    return text.substr(0, line_start);
  }

  // Where text resumes after a tag's closing delimiter ending at `end`: `-` strips all
  // following whitespace, otherwise trim_blocks drops one newline after block/comment tags.
  size_t after_close(size_t end, bool dash, bool plus, bool* strip_next) const {
    *strip_next = dash;
    if (!dash && !plus) {
      if (end < src_.size() && src_[end] == '\n') return end + 1;
      if (end + 1 < src_.size() && src_[end] == '\r' && src_[end + 1] == '\n') return end + 2;
    }
    return end;
  }

  void push_text(std::string_view text, size_t offset) {
    if (text.empty()) return;
    tokens_.push_back(Token{TokenKind::kText, pos_at(offset), std::string(text), 0, 0});
  }

  // Lexes the inside of a {{ }} or {% %} tag; returns the offset where text resumes.
  size_t lex_tag(size_t open, size_t i, bool is_var, bool* strip_next) {
    tokens_.push_back(Token{is_var ? TokenKind::kVarBegin : TokenKind::kBlockBegin, pos_at(open),
                            is_var ? "{{" : "{%", 0, 0});
    const char close_char = is_var ? '}' : '%';
    int depth = 0;  // open brackets: "}}" inside a dict literal does not close the tag
    while (true) {
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (i >= src_.size()) fail(open, is_var ? "unclosed '{{' tag" : "unclosed '{%' tag");
      char c = src_[i];
      if (depth == 0) {
        bool modified = (c == '-' || c == '+') && i + 2 < src_.size() &&
                        src_[i + 1] == close_char && src_[i + 2] == '}';
        if (modified || (c == close_char && i + 1 < src_.size() && src_[i + 1] == '}')) {
          size_t end = i + (modified ? 3 : 2);
          tokens_.push_back(Token{is_var ? TokenKind::kVarEnd : TokenKind::kBlockEnd, pos_at(i),
                                  is_var ? "}}" : "%}", 0, 0});
          if (is_var) {
            *strip_next = modified && c == '-';
            return end;  // trim_blocks does not apply to {{ }}
          }
          return after_close(end, modified && c == '-', modified && c == '+', strip_next);
        }
      }
      if (is_name_start(c)) {
        size_t j = i;
        while (j < src_.size() && is_name_char(src_[j])) ++j;
        tokens_.push_back(
            Token{TokenKind::kName, pos_at(i), std::string(src_.substr(i, j - i)), 0, 0});
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        i = lex_number(i);
      } else if (c == '\'' || c == '"') {
        i = lex_string(i);
      } else {
        i = lex_operator(i, &depth);
      }
    }
  }

  size_t lex_number(size_t i) {
    size_t j = i;
    bool is_float = false;
    std::string digits;
    auto take_digits = [&] {
      while (j < src_.size() &&
             (std::isdigit(static_cast<unsigned char>(src_[j])) || src_[j] == '_')) {
        if (src_[j] != '_') digits += src_[j];
        ++j;
      }
    };
    take_digits();
    if (j + 1 < src_.size() && src_[j] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[j + 1]))) {
      is_float = true;
      digits += src_[j++];
      take_digits();
    }
    if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
      size_t k = j + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
        is_float = true;
        digits += src_.substr(j, k - j);
        j = k;
        take_digits();
      }
    }
    Token t{is_float ? TokenKind::kFloat : TokenKind::kInt, pos_at(i), digits, 0, 0};
    if (is_float) {
      t.float_value = std::strtod(digits.c_str(), nullptr);
    } else {
      errno = 0;
      t.int_value = std::strtoll(digits.c_str(), nullptr, 10);
      if (errno == ERANGE) fail(i, fmt::format("integer literal {} is too large", digits));
    }
    tokens_.push_back(std::move(t));
    return j;
  }

  size_t lex_string(size_t i) {
    char quote = src_[i];
    std::string out;
    size_t j = i + 1;
    while (true) {
      if (j >= src_.size()) fail(i, "unterminated string literal");
      char c = src_[j];
      if (c == quote) break;
      if (c == '\\' && j + 1 < src_.size()) {
        char e = src_[j + 1];
        j += 2;
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case '0':
            out += '\0';
            break;
          case '\\':
            out += '\\';
            break;
          case '\'':
            out += '\'';
            break;
          case '"':
            out += '"';
            break;
          case '\n':
            break;  // line continuation
          default:
            out += '\\';
            out += e;
        }
        continue;
      }
      out += c;
      ++j;
    }
    tokens_.push_back(Token{TokenKind::kString, pos_at(i), std::move(out), 0, 0});
    return j + 1;
  }

  size_t lex_operator(size_t i, int* depth) {
    static constexpr std::string_view kTwo[] = {"**", "//", "==", "!=", "<=", ">="};
    std::string_view rest = src_.substr(i);
    for (std::string_view op : kTwo) {
      if (rest.substr(0, 2) == op) {
        tokens_.push_back(Token{TokenKind::kOp, pos_at(i), std::string(op), 0, 0});
        return i + 2;
      }
    }
    char c = src_[i];
    if (std::string_view("+-*/%~<>=()[]{},.:|").find(c) == std::string_view::npos) {
      fail(i, fmt::format("unexpected character '{}'", c));
    }
    if (c == '(' || c == '[' || c == '{') ++*depth;
    if ((c == ')' || c == ']' || c == '}') && *depth > 0) --*depth;
    tokens_.push_back(Token{TokenKind::kOp, pos_at(i), std::string(1, c), 0, 0});
    return i + 1;
  }

  Pos pos_at(size_t offset) {
    // Tokens come in order, so the walk usually only moves forward; errors may look back.
    if (offset < walk_) {
      walk_ = 0;
      walk_pos_ = Pos{};
    }
    while (walk_ < offset && walk_ < src_.size()) {
      if (src_[walk_] == '\n') {
        ++walk_pos_.line;
        walk_pos_.col = 1;
      } else {
        ++walk_pos_.col;
      }
      ++walk_;
    }
    return walk_pos_;
  }

  [[noreturn]] void fail(size_t offset, const std::string& message) {
    throw TemplateError(pos_at(offset), message);
  }

  std::string_view src_;
  std::vector<Token> tokens_;
  size_t walk_ = 0;
  Pos walk_pos_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  return Lexer(source).run();
}

}  // namespace tenbin::jinja
