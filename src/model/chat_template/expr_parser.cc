// Expression grammar of the Jinja subset; see expr_parser.h for the precedence ladder.
#include "model/chat_template/expr_parser.h"

#include <fmt/format.h>

namespace tenbin::jinja {

namespace {

constexpr int kMaxNesting = 200;

ExprPtr make(ExprKind kind, Pos pos, std::string name = {}) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  e->name = std::move(name);
  return e;
}

ExprPtr binary(std::string op, Pos pos, ExprPtr a, ExprPtr b) {
  ExprPtr e = make(ExprKind::kBinary, pos, std::move(op));
  e->args.push_back(std::move(a));
  e->args.push_back(std::move(b));
  return e;
}

ExprPtr parse_unary(TokenCursor& in, bool with_filter);
ExprPtr parse_postfix(TokenCursor& in, ExprPtr node);

// Call arguments after '(' up to ')': positional, then name=value keywords.
void parse_call_args(TokenCursor& in, Expr& call) {
  bool first = true;
  while (!in.accept_op(")")) {
    if (!first) {
      in.expect_op(",");
      if (in.accept_op(")")) break;
    }
    first = false;
    if (in.peek().kind == TokenKind::kName && in.is_op("=", 1)) {
      std::string key = in.next().text;
      in.next();
      call.kwargs.emplace_back(key, parse_expression(in));
    } else {
      call.args.push_back(parse_expression(in));
    }
  }
}

ExprPtr parse_primary(TokenCursor& in) {
  const Token& t = in.next();
  switch (t.kind) {
    case TokenKind::kName: {
      ExprPtr e = make(ExprKind::kLiteral, t.pos);
      if (t.text == "true" || t.text == "True") {
        e->literal = Value::boolean(true);
      } else if (t.text == "false" || t.text == "False") {
        e->literal = Value::boolean(false);
      } else if (t.text == "none" || t.text == "None") {
        e->literal = Value::none();
      } else {
        e->kind = ExprKind::kName;
        e->name = t.text;
      }
      return e;
    }
    case TokenKind::kString: {
      std::string s = t.text;
      while (in.peek().kind == TokenKind::kString) s += in.next().text;  // "a" "b" concatenates
      ExprPtr e = make(ExprKind::kLiteral, t.pos);
      e->literal = Value::string(std::move(s));
      return e;
    }
    case TokenKind::kInt: {
      ExprPtr e = make(ExprKind::kLiteral, t.pos);
      e->literal = Value::integer(t.int_value);
      return e;
    }
    case TokenKind::kFloat: {
      ExprPtr e = make(ExprKind::kLiteral, t.pos);
      e->literal = Value::number(t.float_value);
      return e;
    }
    case TokenKind::kOp:
      if (t.text == "(") {
        if (in.accept_op(")")) return make(ExprKind::kList, t.pos);  // empty tuple
        ExprPtr first = parse_expression(in);
        if (in.accept_op(")")) return first;
        ExprPtr tuple = make(ExprKind::kList, t.pos);
        tuple->args.push_back(std::move(first));
        while (in.accept_op(",")) {
          if (in.is_op(")")) break;
          tuple->args.push_back(parse_expression(in));
        }
        in.expect_op(")");
        return tuple;
      }
      if (t.text == "[") {
        ExprPtr list = make(ExprKind::kList, t.pos);
        while (!in.accept_op("]")) {
          if (!list->args.empty()) {
            in.expect_op(",");
            if (in.accept_op("]")) break;
          }
          list->args.push_back(parse_expression(in));
        }
        return list;
      }
      if (t.text == "{") {
        ExprPtr dict = make(ExprKind::kDict, t.pos);
        while (!in.accept_op("}")) {
          if (!dict->args.empty()) {
            in.expect_op(",");
            if (in.accept_op("}")) break;
          }
          dict->args.push_back(parse_expression(in));
          in.expect_op(":");
          dict->args.push_back(parse_expression(in));
        }
        return dict;
      }
      break;
    default:
      break;
  }
  TokenCursor::fail(t, fmt::format("expected an expression, found {}", describe(t)));
}

// Subscript after '[': an index or a slice a:b:c with optional parts.
ExprPtr parse_subscript(TokenCursor& in, ExprPtr node, Pos pos) {
  ExprPtr parts[3];
  int colons = 0;
  if (!in.is_op(":")) parts[0] = parse_expression(in);
  while (colons < 2 && in.accept_op(":")) {
    ++colons;
    if (!in.is_op(":") && !in.is_op("]")) parts[colons] = parse_expression(in);
  }
  in.expect_op("]");
  ExprPtr e = make(colons == 0 ? ExprKind::kItem : ExprKind::kSlice, pos);
  e->args.push_back(std::move(node));
  if (colons == 0) {
    e->args.push_back(std::move(parts[0]));
  } else {
    for (auto& p : parts) e->args.push_back(std::move(p));
  }
  return e;
}

ExprPtr parse_postfix(TokenCursor& in, ExprPtr node) {
  while (true) {
    Pos pos = in.peek().pos;
    if (in.accept_op(".")) {
      const Token& t = in.next();
      if (t.kind == TokenKind::kInt) {  // foo.0 is foo[0]
        ExprPtr index = make(ExprKind::kLiteral, t.pos);
        index->literal = Value::integer(t.int_value);
        ExprPtr e = make(ExprKind::kItem, pos);
        e->args.push_back(std::move(node));
        e->args.push_back(std::move(index));
        node = std::move(e);
        continue;
      }
      if (t.kind != TokenKind::kName) {
        TokenCursor::fail(
            t, fmt::format("expected an attribute name after '.', found {}", describe(t)));
      }
      ExprPtr e = make(ExprKind::kAttr, pos, t.text);
      e->args.push_back(std::move(node));
      node = std::move(e);
    } else if (in.accept_op("[")) {
      node = parse_subscript(in, std::move(node), pos);
    } else if (in.accept_op("(")) {
      ExprPtr call = make(ExprKind::kCall, pos);
      call->args.push_back(std::move(node));
      parse_call_args(in, *call);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

// Dotted filter or test name ("equalto", "tojson").
std::string parse_dotted_name(TokenCursor& in) {
  std::string name = in.expect_name().text;
  while (in.is_op(".") && in.peek(1).kind == TokenKind::kName) {
    in.next();
    name += "." + in.next().text;
  }
  return name;
}

bool starts_test_argument(const TokenCursor& in) {
  const Token& t = in.peek();
  if (t.kind == TokenKind::kName) {
    return t.text != "else" && t.text != "or" && t.text != "and" && t.text != "if";
  }
  if (t.kind == TokenKind::kString || t.kind == TokenKind::kInt || t.kind == TokenKind::kFloat) {
    return true;
  }
  return in.is_op("[") || in.is_op("{");
}

ExprPtr parse_filters_and_tests(TokenCursor& in, ExprPtr node) {
  while (true) {
    Pos pos = in.peek().pos;
    if (in.accept_op("|")) {
      ExprPtr f = make(ExprKind::kFilter, pos, parse_dotted_name(in));
      f->args.push_back(std::move(node));
      if (in.accept_op("(")) parse_call_args(in, *f);
      node = std::move(f);
    } else if (in.accept_name("is")) {
      bool negated = in.accept_name("not");
      ExprPtr test = make(ExprKind::kTest, pos, parse_dotted_name(in));
      test->negated = negated;
      test->args.push_back(std::move(node));
      if (in.accept_op("(")) {
        parse_call_args(in, *test);
      } else if (starts_test_argument(in)) {
        test->args.push_back(parse_postfix(in, parse_primary(in)));
      }
      node = std::move(test);
    } else if (in.accept_op("(")) {
      ExprPtr call = make(ExprKind::kCall, pos);
      call->args.push_back(std::move(node));
      parse_call_args(in, *call);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

ExprPtr parse_unary(TokenCursor& in, bool with_filter) {
  Pos pos = in.peek().pos;
  ExprPtr node;
  if (in.is_op("-") || in.is_op("+")) {
    node = make(ExprKind::kUnary, pos, in.next().text);
    in.enter(pos);
    node->args.push_back(parse_unary(in, false));
    in.leave();
  } else {
    in.enter(pos);
    node = parse_postfix(in, parse_primary(in));
    in.leave();
  }
  if (!with_filter) return node;
  return parse_filters_and_tests(in, std::move(node));
}

ExprPtr parse_pow(TokenCursor& in) {
  ExprPtr left = parse_unary(in, true);
  while (in.is_op("**")) {
    Pos pos = in.next().pos;
    left = binary("**", pos, std::move(left), parse_unary(in, true));
  }
  return left;
}

ExprPtr parse_math2(TokenCursor& in) {
  ExprPtr left = parse_pow(in);
  while (in.is_op("*") || in.is_op("/") || in.is_op("//") || in.is_op("%")) {
    const Token& op = in.next();
    left = binary(op.text, op.pos, std::move(left), parse_pow(in));
  }
  return left;
}

ExprPtr parse_concat(TokenCursor& in) {
  ExprPtr left = parse_math2(in);
  while (in.is_op("~")) {
    Pos pos = in.next().pos;
    left = binary("~", pos, std::move(left), parse_math2(in));
  }
  return left;
}

ExprPtr parse_math1(TokenCursor& in) {
  ExprPtr left = parse_concat(in);
  while (in.is_op("+") || in.is_op("-")) {
    const Token& op = in.next();
    left = binary(op.text, op.pos, std::move(left), parse_concat(in));
  }
  return left;
}

ExprPtr parse_compare(TokenCursor& in) {
  ExprPtr left = parse_math1(in);
  while (true) {
    const Token& t = in.peek();
    std::string op;
    if (t.kind == TokenKind::kOp && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                     t.text == ">" || t.text == "<=" || t.text == ">=")) {
      op = t.text;
      in.next();
    } else if (in.is_name("in")) {
      op = "in";
      in.next();
    } else if (in.is_name("not") && in.is_name("in", 1)) {
      op = "not in";
      in.next();
      in.next();
    } else {
      return left;
    }
    left = binary(op, t.pos, std::move(left), parse_math1(in));
  }
}

ExprPtr parse_not(TokenCursor& in) {
  if (in.is_name("not")) {
    Pos pos = in.next().pos;
    ExprPtr e = make(ExprKind::kUnary, pos, "not");
    in.enter(pos);
    e->args.push_back(parse_not(in));
    in.leave();
    return e;
  }
  return parse_compare(in);
}

ExprPtr parse_and(TokenCursor& in) {
  ExprPtr left = parse_not(in);
  while (in.is_name("and")) {
    Pos pos = in.next().pos;
    left = binary("and", pos, std::move(left), parse_not(in));
  }
  return left;
}

}  // namespace

ExprPtr parse_or(TokenCursor& in) {
  ExprPtr left = parse_and(in);
  while (in.is_name("or")) {
    Pos pos = in.next().pos;
    left = binary("or", pos, std::move(left), parse_and(in));
  }
  return left;
}

ExprPtr parse_expression(TokenCursor& in) {
  Pos pos = in.peek().pos;
  in.enter(pos);
  ExprPtr value = parse_or(in);
  while (in.is_name("if")) {
    Pos if_pos = in.next().pos;
    ExprPtr cond = make(ExprKind::kCond, if_pos);
    cond->args.push_back(std::move(value));
    cond->args.push_back(parse_or(in));
    cond->args.push_back(in.accept_name("else") ? parse_expression(in) : nullptr);
    value = std::move(cond);
  }
  in.leave();
  return value;
}

bool TokenCursor::accept_op(std::string_view op) {
  if (!is_op(op)) return false;
  next();
  return true;
}

bool TokenCursor::accept_name(std::string_view name) {
  if (!is_name(name)) return false;
  next();
  return true;
}

const Token& TokenCursor::expect_op(std::string_view op) {
  if (!is_op(op)) fail(peek(), fmt::format("expected '{}', found {}", op, describe(peek())));
  return next();
}

const Token& TokenCursor::expect_name() {
  if (peek().kind != TokenKind::kName) {
    fail(peek(), fmt::format("expected a name, found {}", describe(peek())));
  }
  return next();
}

void TokenCursor::enter(Pos pos) {
  if (++depth_ > kMaxNesting) {
    throw TemplateError(pos, fmt::format("expression nested deeper than {} levels", kMaxNesting));
  }
}

void TokenCursor::fail(const Token& at, const std::string& message) {
  throw TemplateError(at.pos, message);
}

std::string describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEof:
      return "end of template";
    case TokenKind::kName:
      return fmt::format("name '{}'", token.text);
    case TokenKind::kString:
      return "a string";
    case TokenKind::kInt:
    case TokenKind::kFloat:
      return fmt::format("number {}", token.text);
    case TokenKind::kText:
      return "template text";
    default:
      return fmt::format("'{}'", token.text);
  }
}

}  // namespace tenbin::jinja
