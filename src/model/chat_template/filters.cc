// Jinja filters (`value | name(args)`) and the tojson encoder.
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "model/chat_template/builtins.h"
#include "model/chat_template/operators.h"
#include "model/chat_template/string_ops.h"

namespace tenbin::jinja {
namespace {

const std::string& string_input(const std::string& filter, const Value& v, Pos pos) {
  if (!v.is_string()) {
    throw TemplateError(
        pos, fmt::format("filter '{}' expects a string, got '{}'", filter, v.type_name()));
  }
  return v.str();
}

const std::string* string_arg(const CallArgs& args, size_t i, std::string_view name, Pos pos) {
  const Value* v = args.get(i, name);
  if (v == nullptr || v->is_none() || v->is_undefined()) return nullptr;
  if (!v->is_string()) {
    throw TemplateError(
        pos, fmt::format("argument '{}' must be a string, got '{}'", name, v->type_name()));
  }
  return &v->str();
}

// Attribute lookup as selectattr/map/sort/join use it: "a.b" walks nested maps.
Value lookup_path(const Value& item, const std::string& path, Pos pos) {
  Value v = item;
  size_t i = 0;
  while (true) {
    size_t dot = path.find('.', i);
    std::string part = path.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
    v = v.is_map() ? get_attr(v, part, pos) : Value();
    if (dot == std::string::npos) return v;
    i = dot + 1;
  }
}

Value select_items(const std::string& name, const Value& input, const CallArgs& args, Pos pos) {
  bool by_attr = name == "selectattr" || name == "rejectattr";
  bool keep_when = name == "selectattr" || name == "select";
  size_t first_test_arg = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    const std::string* a = string_arg(args, 0, "attribute", pos);
    if (a == nullptr)
      throw TemplateError(pos, fmt::format("filter '{}' needs an attribute name", name));
    attr = *a;
  }
  std::string test;
  std::vector<Value> test_args;
  if (args.positional.size() > first_test_arg) {
    const Value& t = args.positional[first_test_arg];
    if (!t.is_string())
      throw TemplateError(pos, fmt::format("filter '{}': test name must be a string", name));
    test = t.str();
    test_args.assign(args.positional.begin() + static_cast<long>(first_test_arg) + 1,
                     args.positional.end());
  }
  ValueList out;
  for (const Value& item : iterate(input, pos)) {
    Value subject = by_attr ? lookup_path(item, attr, pos) : item;
    bool pass = test.empty() ? subject.truthy() : apply_test(test, subject, test_args, pos);
    if (pass == keep_when) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value sort_items(const Value& input, const CallArgs& args, Pos pos) {
  ValueList items = iterate(input, pos);
  const Value* reverse = args.get(0, "reverse");
  const std::string* attr = string_arg(args, 2, "attribute", pos);
  auto key = [&](const Value& v) { return attr ? lookup_path(v, *attr, pos) : v; };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    Value ka = key(a), kb = key(b);
    if (ka.is_string() && kb.is_string()) return py_lower(ka.str()) < py_lower(kb.str());
    return less_than(ka, kb, pos);
  });
  if (reverse && reverse->truthy()) std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value to_int(const Value& v, const CallArgs& args) {
  Value fallback = args.get(0, "default") ? *args.get(0, "default") : Value::integer(0);
  if (v.is_int()) return v;
  if (v.is_bool()) return Value::integer(v.as_bool() ? 1 : 0);
  if (v.is_double()) return Value::integer(static_cast<int64_t>(v.as_double()));
  if (v.is_string()) {
    std::string s = py_strip(v.str(), nullptr, true, true);
    char* end = nullptr;
    errno = 0;
    long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && *end == '\0' && errno == 0) return Value::integer(i);
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0') return Value::integer(static_cast<int64_t>(d));
  }
  return fallback;
}

Value to_float(const Value& v) {
  if (v.is_number()) return Value::number(v.as_double());
  if (v.is_bool()) return Value::number(v.as_bool() ? 1 : 0);
  if (v.is_string()) {
    char* end = nullptr;
    double d = std::strtod(v.str().c_str(), &end);
    if (!v.str().empty() && *end == '\0') return Value::number(d);
  }
  return Value::number(0);
}

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

Value apply_filter(const std::string& name, const Value& input, const CallArgs& args, Pos pos,
                   const ChatTemplateLimits& limits) {
  if (name == "trim") {
    return Value::string(
        py_strip(string_input(name, input, pos), string_arg(args, 0, "chars", pos), true, true));
  }
  if (name == "length" || name == "count") {
    if (input.is_undefined()) return Value::integer(0);
    int64_t n = input.length();
    if (n < 0) throw TemplateError(pos, fmt::format("'{}' value has no length", input.type_name()));
    return Value::integer(n);
  }
  if (name == "upper") return Value::string(py_upper(string_input(name, input, pos)));
  if (name == "lower") return Value::string(py_lower(string_input(name, input, pos)));
  if (name == "capitalize") return Value::string(py_capitalize(string_input(name, input, pos)));
  if (name == "title") return Value::string(py_title(string_input(name, input, pos), true));
  if (name == "default" || name == "d") {
    const Value* boolean = args.get(1, "boolean");
    bool use_default = input.is_undefined() || (boolean && boolean->truthy() && !input.truthy());
    if (!use_default) return input;
    const Value* dflt = args.get(0, "default_value");
    return dflt ? *dflt : Value::string("");
  }
  if (name == "join") {
    const std::string* sep = string_arg(args, 0, "d", pos);
    const std::string* attr = string_arg(args, 1, "attribute", pos);
    std::string out;
    bool first = true;
    for (const Value& item : iterate(input, pos)) {
      if (!first && sep) out += *sep;
      first = false;
      out += (attr ? lookup_path(item, *attr, pos) : item).to_output();
      if (out.size() > limits.max_output_bytes)
        throw TemplateError(pos, "join result exceeds the output limit");
    }
    return Value::string(std::move(out));
  }
  if (name == "replace") {
    const std::string* old_s = string_arg(args, 0, "old", pos);
    const std::string* new_s = string_arg(args, 1, "new", pos);
    if (!old_s || !new_s) throw TemplateError(pos, "filter 'replace' needs old and new strings");
    const Value* count = args.get(2, "count");
    bool too_big = false;
    std::string out = py_replace(input.to_output(), *old_s, *new_s,
                                 count && !count->is_none() ? int_arg(*count, "count", pos) : -1,
                                 limits.max_output_bytes, &too_big);
    if (too_big) throw TemplateError(pos, "replace result exceeds the output limit");
    return Value::string(std::move(out));
  }
  if (name == "tojson") {
    const Value* indent = args.get(0, "indent");
    int n = indent && !indent->is_none() ? static_cast<int>(int_arg(*indent, "indent", pos)) : -1;
    std::string json = to_json(input, n, pos);
    if (json.size() > limits.max_output_bytes)
      throw TemplateError(pos, "tojson result exceeds the output limit");
    return Value::string(std::move(json));
  }
  if (name == "string") return Value::string(input.to_output());
  if (name == "int") return to_int(input, args);
  if (name == "float") return to_float(input);
  if (name == "abs") {
    if (input.is_int())
      return Value::integer(input.as_int() < 0 ? -input.as_int() : input.as_int());
    if (input.is_double())
      return Value::number(input.as_double() < 0 ? -input.as_double() : input.as_double());
    throw TemplateError(pos,
                        fmt::format("filter 'abs' expects a number, got '{}'", input.type_name()));
  }
  if (name == "first" || name == "last") {
    ValueList items = iterate(input, pos);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::list(iterate(input, pos));
  if (name == "reverse") {
    if (input.is_string()) return slice(input, Value(), Value(), Value::integer(-1), pos);
    ValueList items = iterate(input, pos);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "unique") {
    ValueList out;
    for (const Value& item : iterate(input, pos)) {
      if (std::none_of(out.begin(), out.end(),
                       [&](const Value& o) { return values_equal(o, item); })) {
        out.push_back(item);
      }
    }
    return Value::list(std::move(out));
  }
  if (name == "sort") return sort_items(input, args, pos);
  if (name == "items") {
    if (input.is_undefined()) return Value::list();
    if (!input.is_map())
      throw TemplateError(
          pos, fmt::format("filter 'items' expects a mapping, got '{}'", input.type_name()));
    ValueList out;
    for (const auto& [k, v] : input.entries()) out.push_back(Value::list({Value::string(k), v}));
    return Value::list(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    return select_items(name, input, args, pos);
  }
  if (name == "map") {
    ValueList out;
    const std::string* attr = string_arg(args, 99, "attribute", pos);
    if (attr == nullptr && args.positional.empty())
      throw TemplateError(pos, "filter 'map' needs a filter name or attribute=");
    CallArgs rest;
    if (attr == nullptr) {
      rest.positional.assign(args.positional.begin() + 1, args.positional.end());
      rest.keywords = args.keywords;
    }
    for (const Value& item : iterate(input, pos)) {
      if (attr) {
        Value v = lookup_path(item, *attr, pos);
        const Value* dflt = args.get(99, "default");
        out.push_back(v.is_undefined() && dflt ? *dflt : v);
      } else {
        out.push_back(
            apply_filter(string_input("map", args.positional[0], pos), item, rest, pos, limits));
      }
    }
    return Value::list(std::move(out));
  }
  if (name == "safe") return input;
  if (name == "e" || name == "escape" || name == "forceescape")
    return Value::string(escape_html(input.to_output()));
  throw TemplateError(pos, fmt::format("unsupported filter '{}'", name));
}

}  // namespace tenbin::jinja
