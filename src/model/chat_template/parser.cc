// Statement parser: tag structure and nesting; expressions go to expr_parser.
#include "model/chat_template/parser.h"

#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>

#include "model/chat_template/expr_parser.h"
#include "model/chat_template/lexer.h"

namespace tenbin::jinja {
namespace {

constexpr int kMaxBlockNesting = 100;

// Jinja tags this interpreter does not implement: named so the error says which one.
constexpr std::string_view kUnsupportedTags[] = {
    "call", "filter",     "block", "extends", "include", "import", "from",
    "with", "autoescape", "raw",   "trans",   "do",      "print"};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : in_(std::move(tokens)) {}

  Body parse() {
    std::string end;
    return parse_body({}, Pos{}, "", &end);
  }

 private:
  // Parses until one of `ends` opens a tag; that tag's name goes to *found (its `%}` and any
  // header are left for the caller). With no ends, parses to the end of the template.
  Body parse_body(std::initializer_list<std::string_view> ends, Pos opened, std::string_view opener,
                  std::string* found) {
    if (++nesting_ > kMaxBlockNesting) {
      throw TemplateError(opened, fmt::format("blocks nested deeper than {}", kMaxBlockNesting));
    }
    Body body;
    while (true) {
      const Token& t = in_.peek();
      if (t.kind == TokenKind::kEof) {
        if (ends.size() == 0) break;
        throw TemplateError(opened, fmt::format("unclosed '{{% {} %}}': expected '{{% {} %}}' "
                                                "before the end of the template",
                                                opener, *(ends.end() - 1)));
      }
      if (t.kind == TokenKind::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->pos = t.pos;
        s->text = in_.next().text;
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::kVarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->pos = in_.next().pos;
        s->expr = parse_expression(in_);
        expect_end(TokenKind::kVarEnd, "}}");
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::kBlockBegin) {
        const Token& name = in_.peek(1);
        if (name.kind == TokenKind::kName &&
            std::find(ends.begin(), ends.end(), name.text) != ends.end()) {
          in_.next();
          *found = in_.next().text;
          break;
        }
        if (ends.size() > 0 && name.kind == TokenKind::kName &&
            (name.text.starts_with("end") || name.text == "elif" || name.text == "else")) {
          throw TemplateError(
              name.pos, fmt::format("unexpected tag '{{% {} %}}': expected "
                                    "'{{% {} %}}' to close '{{% {} %}}' from {}:{}",
                                    name.text, *(ends.end() - 1), opener, opened.line, opened.col));
        }
        body.push_back(parse_statement());
      } else {
        TokenCursor::fail(t, fmt::format("unexpected {}", describe(t)));
      }
    }
    --nesting_;
    return body;
  }

  void expect_end(TokenKind kind, std::string_view text) {
    if (in_.peek().kind != kind) {
      TokenCursor::fail(in_.peek(),
                        fmt::format("expected '{}', found {}", text, describe(in_.peek())));
    }
    in_.next();
  }

  StmtPtr parse_statement() {
    in_.next();  // {%
    const Token& name = in_.peek();
    if (name.kind != TokenKind::kName) {
      TokenCursor::fail(name,
                        fmt::format("expected a tag name after '{{%', found {}", describe(name)));
    }
    auto s = std::make_unique<Stmt>();
    s->pos = name.pos;
    std::string tag = in_.next().text;
    if (tag == "if") {
      parse_if(*s);
    } else if (tag == "for") {
      parse_for(*s);
    } else if (tag == "set") {
      parse_set(*s);
    } else if (tag == "macro") {
      parse_macro(*s);
    } else if (tag == "break" || tag == "continue") {
      s->kind = tag == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      expect_end(TokenKind::kBlockEnd, "%}");
    } else if (tag == "generation") {
      s->kind = StmtKind::kBlock;
      expect_end(TokenKind::kBlockEnd, "%}");
      std::string end;
      s->body = parse_body({"endgeneration"}, s->pos, "generation", &end);
      expect_end(TokenKind::kBlockEnd, "%}");
    } else if (std::find(std::begin(kUnsupportedTags), std::end(kUnsupportedTags), tag) !=
               std::end(kUnsupportedTags)) {
      throw TemplateError(s->pos, fmt::format("unsupported tag '{{% {} %}}'", tag));
    } else {
      throw TemplateError(s->pos, fmt::format("unexpected tag '{{% {} %}}'", tag));
    }
    return s;
  }

  void parse_if(Stmt& s) {
    s.kind = StmtKind::kIf;
    ExprPtr cond = parse_expression(in_);
    while (true) {
      expect_end(TokenKind::kBlockEnd, "%}");
      std::string end;
      Body body = parse_body({"elif", "else", "endif"}, s.pos, "if", &end);
      s.branches.emplace_back(std::move(cond), std::move(body));
      if (end == "elif") {
        cond = parse_expression(in_);
        continue;
      }
      if (end == "else") {
        expect_end(TokenKind::kBlockEnd, "%}");
        s.branches.emplace_back(nullptr, parse_body({"endif"}, s.pos, "if", &end));
      }
      expect_end(TokenKind::kBlockEnd, "%}");
      return;
    }
  }

  void parse_for(Stmt& s) {
    s.kind = StmtKind::kFor;
    bool parens = in_.accept_op("(");
    do {
      s.targets.push_back(in_.expect_name().text);
    } while (in_.accept_op(","));
    if (parens) in_.expect_op(")");
    if (!in_.accept_name("in")) {
      TokenCursor::fail(in_.peek(),
                        fmt::format("expected 'in' in for loop, found {}", describe(in_.peek())));
    }
    s.expr = parse_or(in_);
    if (in_.accept_name("if")) s.filter = parse_or(in_);
    if (in_.is_name("recursive")) {
      TokenCursor::fail(in_.peek(), "unsupported construct 'recursive' for loop");
    }
    expect_end(TokenKind::kBlockEnd, "%}");
    std::string end;
    s.body = parse_body({"else", "endfor"}, s.pos, "for", &end);
    if (end == "else") {
      expect_end(TokenKind::kBlockEnd, "%}");
      s.else_body = parse_body({"endfor"}, s.pos, "for", &end);
    }
    expect_end(TokenKind::kBlockEnd, "%}");
  }

  void parse_set(Stmt& s) {
    s.kind = StmtKind::kSet;
    s.targets.push_back(in_.expect_name().text);
    if (in_.accept_op(".")) s.attr = in_.expect_name().text;
    if (in_.is_op(","))
      TokenCursor::fail(in_.peek(), "unsupported construct: tuple assignment in set");
    if (in_.accept_op("=")) {
      s.expr = parse_expression(in_);
      expect_end(TokenKind::kBlockEnd, "%}");
      return;
    }
    expect_end(TokenKind::kBlockEnd, "%}");
    std::string end;
    s.body = parse_body({"endset"}, s.pos, "set", &end);
    expect_end(TokenKind::kBlockEnd, "%}");
  }

  void parse_macro(Stmt& s) {
    s.kind = StmtKind::kMacro;
    s.text = in_.expect_name().text;
    in_.expect_op("(");
    while (!in_.accept_op(")")) {
      if (!s.targets.empty()) in_.expect_op(",");
      s.targets.push_back(in_.expect_name().text);
      s.defaults.push_back(in_.accept_op("=") ? parse_expression(in_) : nullptr);
    }
    expect_end(TokenKind::kBlockEnd, "%}");
    std::string end;
    s.body = parse_body({"endmacro"}, s.pos, "macro", &end);
    expect_end(TokenKind::kBlockEnd, "%}");
  }

  TokenCursor in_;
  int nesting_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) {
  return Parser(tokenize(source)).parse();
}

}  // namespace tenbin::jinja
