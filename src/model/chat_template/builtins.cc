// Tests, methods, global functions and JSON encoding; filters live in filters.cc.
#include "model/chat_template/builtins.h"

#include <ctime>

#include <fmt/format.h>

#include "model/chat_template/operators.h"
#include "model/chat_template/string_ops.h"

namespace tenbin::jinja {
namespace {

const Value& need(const std::vector<Value>& args, size_t i, const std::string& what, Pos pos) {
  if (i >= args.size()) throw TemplateError(pos, fmt::format("{} needs an argument", what));
  return args[i];
}

const std::string* opt_string(const CallArgs& args, size_t i, std::string_view name,
                              const std::string& method, Pos pos) {
  const Value* v = args.get(i, name);
  if (v == nullptr || v->is_none()) return nullptr;
  if (!v->is_string()) {
    throw TemplateError(
        pos, fmt::format("{}() argument must be a string, got '{}'", method, v->type_name()));
  }
  return &v->str();
}

bool affix_match(const std::string& s, const Value& affix, bool prefix, Pos pos) {
  auto one = [&](const Value& a) {
    if (!a.is_string()) throw TemplateError(pos, "startswith/endswith argument must be a string");
    const std::string& t = a.str();
    if (t.size() > s.size()) return false;
    return prefix ? s.compare(0, t.size(), t) == 0
                  : s.compare(s.size() - t.size(), t.size(), t) == 0;
  };
  if (affix.is_list()) {
    for (const Value& a : affix.items()) {
      if (one(a)) return true;
    }
    return false;
  }
  return one(affix);
}

Value string_method(const std::string& s, const std::string& name, const CallArgs& args, Pos pos,
                    const ChatTemplateLimits& limits) {
  const std::vector<Value>& a = args.positional;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const std::string* chars = opt_string(args, 0, "chars", name, pos);
    return Value::string(py_strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "startswith" || name == "endswith") {
    return Value::boolean(affix_match(s, need(a, 0, name + "()", pos), name == "startswith", pos));
  }
  if (name == "split" || name == "rsplit") {
    const std::string* sep = opt_string(args, 0, "sep", name, pos);
    const Value* maxsplit = args.get(1, "maxsplit");
    int64_t n = maxsplit ? int_arg(*maxsplit, "maxsplit", pos) : -1;
    if (name == "rsplit" && n >= 0)
      throw TemplateError(pos, "unsupported construct: rsplit with maxsplit");
    ValueList out;
    for (std::string& part : py_split(s, sep, n)) out.push_back(Value::string(std::move(part)));
    return Value::list(std::move(out));
  }
  if (name == "upper") return Value::string(py_upper(s));
  if (name == "lower") return Value::string(py_lower(s));
  if (name == "title") return Value::string(py_title(s, false));
  if (name == "capitalize") return Value::string(py_capitalize(s));
  if (name == "replace") {
    const std::string* old_s = opt_string(args, 0, "old", name, pos);
    const std::string* new_s = opt_string(args, 1, "new", name, pos);
    if (!old_s || !new_s) throw TemplateError(pos, "replace() needs old and new strings");
    const Value* count = args.get(2, "count");
    bool too_big = false;
    std::string out = py_replace(s, *old_s, *new_s, count ? int_arg(*count, "count", pos) : -1,
                                 limits.max_output_bytes, &too_big);
    if (too_big) throw TemplateError(pos, "replace() result exceeds the output limit");
    return Value::string(std::move(out));
  }
  if (name == "find") {
    const Value& sub = need(a, 0, "find()", pos);
    if (!sub.is_string()) throw TemplateError(pos, "find() argument must be a string");
    size_t at = s.find(sub.str());
    return Value::integer(at == std::string::npos ? -1 : static_cast<int64_t>(at));
  }
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const Value& item : iterate(need(a, 0, "join()", pos), pos)) {
      if (!first) out += s;
      first = false;
      out += item.to_output();
      if (out.size() > limits.max_output_bytes)
        throw TemplateError(pos, "join() result exceeds the output limit");
    }
    return Value::string(std::move(out));
  }
  throw TemplateError(pos, fmt::format("unsupported string method '{}'", name));
}

Value map_method(const Value& m, const std::string& name, const CallArgs& args, Pos pos) {
  if (name == "items" || name == "keys" || name == "values") {
    ValueList out;
    for (const auto& [k, v] : m.entries()) {
      if (name == "items") out.push_back(Value::list({Value::string(k), v}));
      if (name == "keys") out.push_back(Value::string(k));
      if (name == "values") out.push_back(v);
    }
    return Value::list(std::move(out));
  }
  if (name == "get") {
    const Value& key = need(args.positional, 0, "get()", pos);
    const Value* found = key.is_string() ? m.find(key.str()) : nullptr;
    if (found) return *found;
    const Value* dflt = args.get(1, "default");
    return dflt ? *dflt : Value::none();
  }
  throw TemplateError(pos, fmt::format("unsupported dict method '{}'", name));
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void write_json(const Value& v, int indent, int level, Pos pos, std::string* out) {
  if (level > 100) throw TemplateError(pos, "tojson: value nested too deeply");
  auto newline = [&](int lvl) {
    if (indent >= 0) *out += "\n" + std::string(static_cast<size_t>(indent * lvl), ' ');
  };
  const char* item_sep = indent >= 0 ? "," : ", ";
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      *out += "null";
      return;
    case Value::Kind::kBool:
      *out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::kInt:
    case Value::Kind::kDouble:
      *out += v.repr();
      return;
    case Value::Kind::kString:
      *out += json_string(v.str());
      return;
    case Value::Kind::kList:
      if (v.items().empty()) {
        *out += "[]";
        return;
      }
      *out += "[";
      for (size_t i = 0; i < v.items().size(); ++i) {
        if (i > 0) *out += item_sep;
        newline(level + 1);
        write_json(v.items()[i], indent, level + 1, pos, out);
      }
      newline(level);
      *out += "]";
      return;
    case Value::Kind::kMap:
      if (v.entries().empty()) {
        *out += "{}";
        return;
      }
      *out += "{";
      for (size_t i = 0; i < v.entries().size(); ++i) {
        if (i > 0) *out += item_sep;
        newline(level + 1);
        *out += json_string(v.entries()[i].first) + ": ";
        write_json(v.entries()[i].second, indent, level + 1, pos, out);
      }
      newline(level);
      *out += "}";
      return;
  }
}

}  // namespace

const Value* CallArgs::get(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : keywords) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool apply_test(const std::string& name, const Value& v, const std::vector<Value>& args, Pos pos) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_double();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_map();
  if (name == "iterable") return v.is_list() || v.is_map() || v.is_string();
  if (name == "sequence") return v.is_list() || v.is_map() || v.is_string();
  if (name == "callable") return false;
  if (name == "lower") return v.is_string() && py_lower(v.str()) == v.str();
  if (name == "upper") return v.is_string() && py_upper(v.str()) == v.str();
  if (name == "odd" || name == "even") {
    int64_t i = int_arg(v, "odd/even test value", pos);
    return (i % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    int64_t d = int_arg(need(args, 0, "divisibleby", pos), "divisor", pos);
    if (d == 0) throw TemplateError(pos, "divisibleby 0");
    return int_arg(v, "divisibleby test value", pos) % d == 0;
  }
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") {
    return values_equal(v, need(args, 0, name, pos));
  }
  if (name == "ne" || name == "!=") return !values_equal(v, need(args, 0, name, pos));
  if (name == "lt" || name == "lessthan") return less_than(v, need(args, 0, name, pos), pos);
  if (name == "gt" || name == "greaterthan") return less_than(need(args, 0, name, pos), v, pos);
  if (name == "le") return !less_than(need(args, 0, name, pos), v, pos);
  if (name == "ge") return !less_than(v, need(args, 0, name, pos), pos);
  if (name == "in") return binary_op("in", v, need(args, 0, name, pos), pos, 0).as_bool();
  throw TemplateError(pos, fmt::format("unsupported test '{}'", name));
}

Value call_method(const Value& object, const std::string& name, const CallArgs& args, Pos pos,
                  const ChatTemplateLimits& limits) {
  if (object.is_string()) return string_method(object.str(), name, args, pos, limits);
  if (object.is_map() && !object.is_namespace()) return map_method(object, name, args, pos);
  if (object.is_list() && name == "append") {
    Value list = object;  // shares storage: the append is visible through the variable
    if (list.items().size() >= limits.max_output_bytes)
      throw TemplateError(pos, "list exceeds the output limit");
    list.mutable_items().push_back(need(args.positional, 0, "append()", pos));
    return Value::none();
  }
  throw TemplateError(
      pos, fmt::format("unsupported method '{}' on a '{}' value", name, object.type_name()));
}

Value call_global(const std::string& name, const CallArgs& args, Pos pos,
                  const ChatTemplateLimits& limits, bool* found) {
  *found = true;
  const std::vector<Value>& a = args.positional;
  if (name == "raise_exception") {
    throw TemplateError(pos, a.empty() ? "raise_exception() called" : a[0].to_output(), true);
  }
  if (name == "range") {
    if (a.empty() || a.size() > 3)
      throw TemplateError(pos, "range() takes 1 to 3 integer arguments");
    int64_t start = a.size() == 1 ? 0 : int_arg(a[0], "range() argument", pos);
    int64_t stop = int_arg(a.size() == 1 ? a[0] : a[1], "range() argument", pos);
    int64_t step = a.size() == 3 ? int_arg(a[2], "range() step", pos) : 1;
    if (step == 0) throw TemplateError(pos, "range() step must not be zero");
    __int128 count = step > 0 ? (static_cast<__int128>(stop) - start + step - 1) / step
                              : (static_cast<__int128>(start) - stop - step - 1) / -step;
    if (count < 0) count = 0;
    if (count > limits.max_loop_iterations) {
      throw TemplateError(pos,
                          fmt::format("range() of {} items exceeds the loop iteration limit of {}",
                                      static_cast<int64_t>(count), limits.max_loop_iterations));
    }
    ValueList out;
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i)
      out.push_back(Value::integer(start + i * step));
    return Value::list(std::move(out));
  }
  if (name == "namespace" || name == "dict") {
    ValueMap entries;
    if (!a.empty() && a[0].is_map()) entries = a[0].entries();
    for (const auto& [k, v] : args.keywords) entries.emplace_back(k, v);
    return name == "namespace" ? Value::namespace_object(std::move(entries))
                               : Value::map(std::move(entries));
  }
  if (name == "strftime_now") {
    const Value& format = need(a, 0, "strftime_now()", pos);
    if (!format.is_string()) throw TemplateError(pos, "strftime_now() format must be a string");
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[256];
    size_t n = std::strftime(buf, sizeof(buf), format.str().c_str(), &local);
    return Value::string(std::string(buf, n));
  }
  *found = false;
  return Value::none();
}

std::string to_json(const Value& v, int indent, Pos pos) {
  std::string out;
  write_json(v, indent, 0, pos, &out);
  return out;
}

}  // namespace tenbin::jinja
