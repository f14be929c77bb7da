// The syntax tree of a parsed chat template: expressions and statements, each with the
// line:col where it starts so render-time errors can point at the template text. Built once
// by the parser, then only read (a template renders from many threads at once).
// TemplateError is how the lexer, parser and evaluator unwind internally; ChatTemplate
// catches it at the public API and returns a Status, so it never leaves this module.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "model/chat_template/value.h"

namespace tenbin::jinja {

struct Pos {
  int line = 1;
  int col = 1;
};

class TemplateError : public std::runtime_error {
 public:
  TemplateError(Pos pos, const std::string& message, bool raised = false)
      : std::runtime_error(message), pos_(pos), raised_(raised) {}
  Pos pos() const { return pos_; }
  // True for raise_exception(...) called by the template itself.
  bool raised() const { return raised_; }

 private:
  Pos pos_;
  bool raised_;
};

enum class ExprKind {
  kLiteral,  // literal
  kName,     // name
  kList,     // args: elements (tuples too)
  kDict,     // args: key0, value0, key1, value1, ...
  kAttr,     // args[0].name
  kItem,     // args[0][args[1]]
  kSlice,    // args[0][args[1]:args[2]:args[3]], absent parts are null
  kCall,     // args[0](args[1..], kwargs)
  kFilter,   // args[0] | name(args[1..], kwargs)
  kTest,     // args[0] is [not] name(args[1..])
  kUnary,    // name: "not", "-", "+"; args[0]
  kBinary,   // name: operator ("+", "and", "in", "not in", ...); args[0], args[1]
  kCond,     // args[0] if args[1] else args[2] (args[2] may be null)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  Pos pos;
  std::string name;
  bool negated = false;  // `is not`
  Value literal;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

enum class StmtKind {
  kText,    // text
  kOutput,  // {{ expr }}
  kIf,      // branches: (condition, body); a null condition is the else branch
  kFor,     // for targets in expr [if filter]: body [else else_body]
  kSet,     // set targets[0][.attr] = expr, or a block set (expr null, body)
  kMacro,   // macro name(params with defaults): body
  kBreak,
  kContinue,
  kBlock,  // body rendered as is ({% generation %})
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  StmtKind kind = StmtKind::kText;
  Pos pos;
  std::string text;  // kText; kMacro: macro name
  ExprPtr expr;
  ExprPtr filter;
  std::vector<std::string> targets;  // for-loop variables, set target, macro parameters
  std::string attr;                  // set ns.attr
  std::vector<ExprPtr> defaults;     // macro parameter defaults (null when none)
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
};

}  // namespace tenbin::jinja
