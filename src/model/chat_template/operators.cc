// Operator semantics; see operators.h.
#include "model/chat_template/operators.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tenbin::jinja {
namespace {

[[noreturn]] void type_error(const std::string& op, const Value& a, const Value& b, Pos pos) {
  throw TemplateError(pos, fmt::format("unsupported operand types for {}: '{}' and '{}'", op,
                                       a.type_name(), b.type_name()));
}

void check_bytes(size_t n, size_t max_bytes, Pos pos) {
  if (n > max_bytes) {
    throw TemplateError(
        pos, fmt::format("value of {} bytes exceeds the output limit of {} bytes", n, max_bytes));
  }
}

Value arithmetic(const std::string& op, const Value& a, const Value& b, Pos pos) {
  if (!a.is_number() || !b.is_number()) type_error(op, a, b, pos);
  if (a.is_int() && b.is_int() && op != "/") {
    int64_t x = a.as_int(), y = b.as_int(), r = 0;
    bool overflow = false;
    if (op == "+") {
      overflow = __builtin_add_overflow(x, y, &r);
    } else if (op == "-") {
      overflow = __builtin_sub_overflow(x, y, &r);
    } else if (op == "*") {
      overflow = __builtin_mul_overflow(x, y, &r);
    } else if (op == "//" || op == "%") {
      if (y == 0) throw TemplateError(pos, "integer division or modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) {
        overflow = true;
      } else {
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
          q -= 1;
          m += y;
        }
        r = op == "//" ? q : m;
      }
    } else if (op == "**") {
      if (y < 0) return Value::number(std::pow(static_cast<double>(x), static_cast<double>(y)));
      if (x == 0) {
        r = y == 0 ? 1 : 0;
      } else if (x == 1 || x == -1) {
        r = (x == -1 && y % 2 == 1) ? -1 : 1;
      } else {  // |x| >= 2 overflows within 64 steps
        r = 1;
        for (int64_t k = 0; k < y && !overflow; ++k) overflow = __builtin_mul_overflow(r, x, &r);
      }
    }
    if (overflow) throw TemplateError(pos, fmt::format("integer overflow in '{}'", op));
    return Value::integer(r);
  }
  double x = a.as_double(), y = b.as_double();
  if (op == "+") return Value::number(x + y);
  if (op == "-") return Value::number(x - y);
  if (op == "*") return Value::number(x * y);
  if (op == "**") return Value::number(std::pow(x, y));
  if (y == 0) throw TemplateError(pos, "division by zero");
  if (op == "/") return Value::number(x / y);
  if (op == "//") return Value::number(std::floor(x / y));
  double m = std::fmod(x, y);
  if (m != 0 && ((m < 0) != (y < 0))) m += y;
  return Value::number(m);
}

Value repeat(const Value& seq, int64_t n, size_t max_bytes, Pos pos) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (n > 0) check_bytes(seq.str().size() * static_cast<size_t>(n), max_bytes, pos);
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value::string(std::move(out));
  }
  if (n > 0) check_bytes(seq.items().size() * static_cast<size_t>(n), max_bytes, pos);
  ValueList out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(out));
}

bool contains(const Value& container, const Value& item, Pos pos) {
  if (container.is_string()) {
    if (!item.is_string()) type_error("in", item, container, pos);
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const Value& v : container.items()) {
      if (values_equal(v, item)) return true;
    }
    return false;
  }
  if (container.is_map()) return item.is_string() && container.find(item.str()) != nullptr;
  type_error("in", item, container, pos);
}

int64_t normalize_index(int64_t i, int64_t n) {
  return i < 0 ? i + n : i;
}

}  // namespace

int64_t int_arg(const Value& v, const char* what, Pos pos) {
  if (v.is_int() || v.is_bool()) return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int();
  throw TemplateError(pos, fmt::format("{} must be an integer, got '{}'", what, v.type_name()));
}

bool less_than(const Value& a, const Value& b, Pos pos) {
  if (a.is_number() && b.is_number()) return a.as_double() < b.as_double();
  if (a.is_string() && b.is_string()) return a.str() < b.str();
  type_error("<", a, b, pos);
}

Value binary_op(const std::string& op, const Value& a, const Value& b, Pos pos, size_t max_bytes) {
  if (op == "==") return Value::boolean(values_equal(a, b));
  if (op == "!=") return Value::boolean(!values_equal(a, b));
  if (op == "<") return Value::boolean(less_than(a, b, pos));
  if (op == ">") return Value::boolean(less_than(b, a, pos));
  if (op == "<=") return Value::boolean(!less_than(b, a, pos));
  if (op == ">=") return Value::boolean(!less_than(a, b, pos));
  if (op == "in") return Value::boolean(contains(b, a, pos));
  if (op == "not in") return Value::boolean(!contains(b, a, pos));
  if (op == "~") {
    std::string s = a.to_output();
    s += b.to_output();
    check_bytes(s.size(), max_bytes, pos);
    return Value::string(std::move(s));
  }
  if (op == "+" && a.is_string() && b.is_string()) {
    check_bytes(a.str().size() + b.str().size(), max_bytes, pos);
    return Value::string(a.str() + b.str());
  }
  if (op == "+" && a.is_list() && b.is_list()) {
    check_bytes(a.items().size() + b.items().size(), max_bytes, pos);
    ValueList out = a.items();
    out.insert(out.end(), b.items().begin(), b.items().end());
    return Value::list(std::move(out));
  }
  if (op == "*" && (a.is_string() || a.is_list()) && b.is_int()) {
    return repeat(a, b.as_int(), max_bytes, pos);
  }
  if (op == "*" && (b.is_string() || b.is_list()) && a.is_int()) {
    return repeat(b, a.as_int(), max_bytes, pos);
  }
  if (op == "%" && a.is_string()) {
    throw TemplateError(pos, "unsupported construct: printf-style string formatting with '%'");
  }
  return arithmetic(op, a, b, pos);
}

Value get_item(const Value& obj, const Value& key, Pos pos) {
  if (obj.is_map()) {
    if (!key.is_string()) return Value();
    const Value* v = obj.find(key.str());
    return v ? *v : Value();
  }
  if (obj.is_list() || obj.is_string()) {
    if (!key.is_int()) {
      throw TemplateError(pos, fmt::format("{} indices must be integers, got '{}'", obj.type_name(),
                                           key.type_name()));
    }
    if (obj.is_list()) {
      int64_t n = static_cast<int64_t>(obj.items().size());
      int64_t i = normalize_index(key.as_int(), n);
      return (i >= 0 && i < n) ? obj.items()[static_cast<size_t>(i)] : Value();
    }
    std::vector<std::string> chars = utf8_chars(obj.str());
    int64_t n = static_cast<int64_t>(chars.size());
    int64_t i = normalize_index(key.as_int(), n);
    return (i >= 0 && i < n) ? Value::string(chars[static_cast<size_t>(i)]) : Value();
  }
  if (obj.is_undefined() || obj.is_none()) {
    throw TemplateError(pos, fmt::format("cannot read item {} of {} value", key.repr(),
                                         obj.is_none() ? "a none" : "an undefined"));
  }
  return Value();
}

Value get_attr(const Value& obj, const std::string& name, Pos pos) {
  if (obj.is_undefined() || obj.is_none()) {
    throw TemplateError(pos, fmt::format("cannot read attribute '{}' of {} value", name,
                                         obj.is_none() ? "a none" : "an undefined"));
  }
  if (obj.is_map()) {
    const Value* v = obj.find(name);
    return v ? *v : Value();
  }
  return Value();  // strings, lists, numbers: attributes are methods, handled at the call
}

Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step, Pos pos) {
  if (!obj.is_list() && !obj.is_string()) {
    throw TemplateError(pos, fmt::format("cannot slice a '{}' value", obj.type_name()));
  }
  std::vector<std::string> chars;
  if (obj.is_string()) chars = utf8_chars(obj.str());
  int64_t n =
      obj.is_list() ? static_cast<int64_t>(obj.items().size()) : static_cast<int64_t>(chars.size());
  int64_t st = step.is_undefined() || step.is_none() ? 1 : int_arg(step, "slice step", pos);
  if (st == 0) throw TemplateError(pos, "slice step cannot be zero");
  auto bound = [&](const Value& v, int64_t dflt) {
    if (v.is_undefined() || v.is_none()) return dflt;
    int64_t i = int_arg(v, "slice index", pos);
    if (i < 0) i += n;
    if (st > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  int64_t b = bound(start, st > 0 ? 0 : n - 1);
  int64_t e = bound(stop, st > 0 ? n : -1);
  ValueList items;
  std::string text;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    if (obj.is_list()) {
      items.push_back(obj.items()[static_cast<size_t>(i)]);
    } else {
      text += chars[static_cast<size_t>(i)];
    }
  }
  return obj.is_list() ? Value::list(std::move(items)) : Value::string(std::move(text));
}

ValueList iterate(const Value& v, Pos pos) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      return v.items();
    case Value::Kind::kMap: {
      ValueList keys;
      for (const auto& [k, unused] : v.entries()) keys.push_back(Value::string(k));
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (std::string& c : utf8_chars(v.str())) chars.push_back(Value::string(std::move(c)));
      return chars;
    }
    default:
      throw TemplateError(pos, fmt::format("'{}' value is not iterable", v.type_name()));
  }
}

}  // namespace tenbin::jinja
