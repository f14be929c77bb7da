// Statement execution and expression evaluation; see evaluator.h.
#include "model/chat_template/evaluator.h"

#include <fmt/format.h>

#include "model/chat_template/operators.h"

namespace tenbin::jinja {

Evaluator::Evaluator(const ChatTemplateLimits& limits, std::map<std::string, Value> globals)
    : limits_(limits) {
  scopes_.push_back(std::move(globals));
}

std::string Evaluator::render(const Body& body) {
  exec(body);  // a stray break/continue outside a loop just ends the template early
  return std::move(out_);
}

void Evaluator::emit(const std::string& text, Pos pos) {
  if (out_.size() + text.size() > limits_.max_output_bytes) {
    throw TemplateError(pos, fmt::format("rendered output exceeds the limit of {} bytes",
                                         limits_.max_output_bytes));
  }
  out_ += text;
}

Evaluator::Flow Evaluator::exec(const Body& body) {
  for (const StmtPtr& stmt : body) {
    Flow flow = exec(*stmt);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Evaluator::Flow Evaluator::exec(const Stmt& s) {
  switch (s.kind) {
    case StmtKind::kText:
      emit(s.text, s.pos);
      return Flow::kNormal;
    case StmtKind::kOutput:
      emit(eval(*s.expr).to_output(), s.pos);
      return Flow::kNormal;
    case StmtKind::kIf:
      for (const auto& [cond, body] : s.branches) {
        if (cond == nullptr || eval(*cond).truthy()) return exec(body);
      }
      return Flow::kNormal;
    case StmtKind::kFor:
      exec_for(s);
      return Flow::kNormal;
    case StmtKind::kSet:
      exec_set(s);
      return Flow::kNormal;
    case StmtKind::kMacro:
      macros_[s.text] = &s;
      return Flow::kNormal;
    case StmtKind::kBreak:
      return Flow::kBreak;
    case StmtKind::kContinue:
      return Flow::kContinue;
    case StmtKind::kBlock:
      return exec(s.body);
  }
  return Flow::kNormal;
}

void Evaluator::bind(const std::vector<std::string>& targets, const Value& item, Pos pos) {
  if (targets.size() == 1) {
    scopes_.back()[targets[0]] = item;
    return;
  }
  if (!item.is_list() || item.items().size() != targets.size()) {
    throw TemplateError(pos, fmt::format("cannot unpack a '{}' value into {} loop variables",
                                         item.type_name(), targets.size()));
  }
  for (size_t i = 0; i < targets.size(); ++i) scopes_.back()[targets[i]] = item.items()[i];
}

void Evaluator::exec_for(const Stmt& s) {
  ValueList items = iterate(eval(*s.expr), s.expr->pos);
  if (s.filter) {
    ValueList kept;
    scopes_.emplace_back();
    for (const Value& item : items) {
      bind(s.targets, item, s.pos);
      if (eval(*s.filter).truthy()) kept.push_back(item);
    }
    scopes_.pop_back();
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(s.else_body);
    return;
  }
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    if (++iterations_ > limits_.max_loop_iterations) {
      throw TemplateError(s.pos, fmt::format("loops ran more than {} iterations (the limit)",
                                             limits_.max_loop_iterations));
    }
    scopes_.emplace_back();
    const auto k = static_cast<size_t>(i);
    scopes_.back()["loop"] = Value::map({
        {"index", Value::integer(i + 1)},
        {"index0", Value::integer(i)},
        {"revindex", Value::integer(n - i)},
        {"revindex0", Value::integer(n - i - 1)},
        {"first", Value::boolean(i == 0)},
        {"last", Value::boolean(i == n - 1)},
        {"length", Value::integer(n)},
        {"previtem", i > 0 ? items[k - 1] : Value()},
        {"nextitem", i + 1 < n ? items[k + 1] : Value()},
    });
    bind(s.targets, items[k], s.pos);
    Flow flow = exec(s.body);
    scopes_.pop_back();
    if (flow == Flow::kBreak) break;
  }
}

void Evaluator::exec_set(const Stmt& s) {
  Value value = s.expr ? eval(*s.expr) : Value::string(capture(s.body));
  if (s.attr.empty()) {
    scopes_.back()[s.targets[0]] = std::move(value);
    return;
  }
  Value target = lookup(s.targets[0]);
  if (!target.is_namespace()) {
    throw TemplateError(s.pos, fmt::format("cannot set attribute '{}' on '{}': only namespace() "
                                           "objects take attribute assignment",
                                           s.attr, s.targets[0]));
  }
  target.set(s.attr, std::move(value));
}

std::string Evaluator::capture(const Body& body) {
  std::string saved = std::move(out_);
  out_.clear();
  exec(body);
  std::string captured = std::move(out_);
  out_ = std::move(saved);
  return captured;
}

Value Evaluator::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = it->find(name);
    if (found != it->end()) return found->second;
  }
  return Value();
}

CallArgs Evaluator::eval_args(const Expr& e, size_t first) {
  CallArgs args;
  for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i]));
  for (const auto& [k, v] : e.kwargs) args.keywords.emplace_back(k, eval(*v));
  return args;
}

Value Evaluator::eval_call(const Expr& e) {
  const Expr& callee = *e.args[0];
  if (callee.kind == ExprKind::kAttr) {
    Value object = eval(*callee.args[0]);
    // A map may hold a callable-looking key ("items"): methods win, as in Python for dicts.
    return call_method(object, callee.name, eval_args(e, 1), callee.pos, limits_);
  }
  if (callee.kind != ExprKind::kName) {
    throw TemplateError(e.pos, "unsupported construct: calling the result of an expression");
  }
  CallArgs args = eval_args(e, 1);
  if (auto m = macros_.find(callee.name); m != macros_.end()) {
    return call_macro(*m->second, args, callee.pos);
  }
  bool found = false;
  Value result = call_global(callee.name, args, callee.pos, limits_, &found);
  if (!found) throw TemplateError(callee.pos, fmt::format("unknown function '{}'", callee.name));
  return result;
}

Value Evaluator::call_macro(const Stmt& macro, const CallArgs& args, Pos pos) {
  if (call_depth_ >= limits_.max_call_depth) {
    throw TemplateError(pos,
                        fmt::format("macro calls nested deeper than {}", limits_.max_call_depth));
  }
  if (args.positional.size() > macro.targets.size()) {
    throw TemplateError(pos, fmt::format("macro '{}' takes {} arguments, {} given", macro.text,
                                         macro.targets.size(), args.positional.size()));
  }
  // A macro sees the globals and its parameters, not the caller's locals.
  std::vector<std::map<std::string, Value>> saved = std::move(scopes_);
  scopes_.clear();
  scopes_.push_back(saved.front());
  scopes_.emplace_back();
  ++call_depth_;
  for (size_t i = 0; i < macro.targets.size(); ++i) {
    const Value* v = args.get(i, macro.targets[i]);
    if (v != nullptr) {
      scopes_.back()[macro.targets[i]] = *v;
    } else if (macro.defaults[i] != nullptr) {
      scopes_.back()[macro.targets[i]] = eval(*macro.defaults[i]);
    }
  }
  std::string text = capture(macro.body);
  --call_depth_;
  scopes_ = std::move(saved);
  return Value::string(std::move(text));
}

Value Evaluator::eval(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.literal;
    case ExprKind::kName:
      return lookup(e.name);
    case ExprKind::kList: {
      ValueList items;
      for (const ExprPtr& a : e.args) items.push_back(eval(*a));
      return Value::list(std::move(items));
    }
    case ExprKind::kDict: {
      Value m = Value::map();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value key = eval(*e.args[i]);
        if (!key.is_string()) {
          throw TemplateError(e.args[i]->pos, "unsupported construct: dict keys must be strings");
        }
        m.set(key.str(), eval(*e.args[i + 1]));
      }
      return m;
    }
    case ExprKind::kAttr:
      return get_attr(eval(*e.args[0]), e.name, e.pos);
    case ExprKind::kItem:
      return get_item(eval(*e.args[0]), eval(*e.args[1]), e.pos);
    case ExprKind::kSlice: {
      auto part = [&](size_t i) { return e.args[i] ? eval(*e.args[i]) : Value(); };
      return slice(eval(*e.args[0]), part(1), part(2), part(3), e.pos);
    }
    case ExprKind::kCall:
      return eval_call(e);
    case ExprKind::kFilter: {
      Value input = eval(*e.args[0]);
      return apply_filter(e.name, input, eval_args(e, 1), e.pos, limits_);
    }
    case ExprKind::kTest: {
      Value input = eval(*e.args[0]);
      CallArgs args = eval_args(e, 1);
      return Value::boolean(apply_test(e.name, input, args.positional, e.pos) != e.negated);
    }
    case ExprKind::kUnary: {
      Value v = eval(*e.args[0]);
      if (e.name == "not") return Value::boolean(!v.truthy());
      if (v.is_int()) {
        if (e.name == "+") return v;
        if (v.as_int() == INT64_MIN) throw TemplateError(e.pos, "integer overflow in unary '-'");
        return Value::integer(-v.as_int());
      }
      if (v.is_double()) return Value::number(e.name == "-" ? -v.as_double() : v.as_double());
      throw TemplateError(
          e.pos, fmt::format("bad operand type for unary '{}': '{}'", e.name, v.type_name()));
    }
    case ExprKind::kBinary: {
      Value left = eval(*e.args[0]);
      if (e.name == "and") return left.truthy() ? eval(*e.args[1]) : left;
      if (e.name == "or") return left.truthy() ? left : eval(*e.args[1]);
      return binary_op(e.name, left, eval(*e.args[1]), e.pos, limits_.max_output_bytes);
    }
    case ExprKind::kCond:
      if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
      return e.args[2] ? eval(*e.args[2]) : Value();
  }
  return Value();
}

}  // namespace tenbin::jinja
