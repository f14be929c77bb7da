// Renders a parsed template (ast.h) against a set of global variables. One Evaluator per
// render: it owns the scopes, the output buffer and the limit counters, while the tree is only
// read, which is what makes ChatTemplate::render safe to call from many threads at once.
// Errors (including the template's own raise_exception) unwind as TemplateError.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/chat_template/ast.h"
#include "model/chat_template/builtins.h"
#include "model/chat_template/limits.h"
#include "model/chat_template/value.h"

namespace tenbin::jinja {

class Evaluator {
 public:
  Evaluator(const ChatTemplateLimits& limits, std::map<std::string, Value> globals);

  std::string render(const Body& body);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec(const Body& body);
  Flow exec(const Stmt& stmt);
  void exec_for(const Stmt& stmt);
  void exec_set(const Stmt& stmt);
  Value eval(const Expr& expr);
  Value eval_call(const Expr& expr);
  Value call_macro(const Stmt& macro, const CallArgs& args, Pos pos);
  CallArgs eval_args(const Expr& expr, size_t first);
  std::string capture(const Body& body);

  Value lookup(const std::string& name) const;
  void bind(const std::vector<std::string>& targets, const Value& item, Pos pos);
  void emit(const std::string& text, Pos pos);

  ChatTemplateLimits limits_;
  std::vector<std::map<std::string, Value>> scopes_;
  std::map<std::string, const Stmt*> macros_;
  std::string out_;
  int64_t iterations_ = 0;
  int call_depth_ = 0;
};

}  // namespace tenbin::jinja
