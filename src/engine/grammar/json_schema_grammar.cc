// The schema walk: each schema becomes a GBNF expression; objects, arrays, references and
// alternatives get rules of their own, named after where they sit in the schema.
#include "engine/grammar/json_schema_grammar.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <fmt/ranges.h>

#include "engine/grammar/grammar.h"

namespace tenbin::grammar {

namespace {

using json = nlohmann::ordered_json;

constexpr int kMaxDepth = 64;
constexpr int64_t kMaxCount = 4096;                // minItems/maxItems/maxLength we expand
constexpr int64_t kMaxIntBound = 999999999999999;  // 15 digits, as `integral` allows

// JSON values written the way the model may write them. `ws` is the whitespace allowed between
// tokens: nothing, a space, or a line break and indentation.
constexpr const char* kPrimitives = R"(ws ::= ( " " | "\n" [ \t]{0,20} )?
value ::= object | array | string | number | boolean | null
object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
string ::= "\"" char* "\""
char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= "-"? integral ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?
integer ::= "-"? integral
integral ::= "0" | [1-9] [0-9]{0,14}
boolean ::= "true" | "false"
null ::= "null"
date ::= [0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] )
time ::= ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )
uuid ::= [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12}
)";

const std::set<std::string, std::less<>> kAnnotations = {
    "title",    "description", "default",  "examples",  "$schema", "$id",
    "$comment", "deprecated",  "readOnly", "writeOnly", "$defs",   "definitions"};
const std::set<std::string, std::less<>> kKeywords = {"type",
                                                      "properties",
                                                      "required",
                                                      "additionalProperties",
                                                      "items",
                                                      "minItems",
                                                      "maxItems",
                                                      "enum",
                                                      "const",
                                                      "anyOf",
                                                      "oneOf",
                                                      "allOf",
                                                      "$ref",
                                                      "minLength",
                                                      "maxLength",
                                                      "format",
                                                      "minimum",
                                                      "maximum",
                                                      "exclusiveMinimum",
                                                      "exclusiveMaximum",
                                                      "nullable"};

std::string sanitize(const std::string& hint) {
  std::string out;
  for (char c : hint) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '-';
  }
  return out.empty() ? "x" : out;
}

// {min,max} repetition suffix; max < 0 is unbounded.
std::string repetition(int64_t min, int64_t max) {
  if (max < 0) return min == 0 ? "*" : min == 1 ? "+" : fmt::format("{{{},}}", min);
  if (min == max) return fmt::format("{{{}}}", min);
  return fmt::format("{{{},{}}}", min, max);
}

// Decimal strings a <= b of the same length: the digit strings between them.
std::string same_length_range(const std::string& a, const std::string& b) {
  if (a.empty()) return "";
  if (a == b) return gbnf_literal(a);
  if (a[0] == b[0]) {
    return gbnf_literal(a.substr(0, 1)) + " " + same_length_range(a.substr(1), b.substr(1));
  }
  const size_t rest = a.size() - 1;
  const bool a_low = a.substr(1) == std::string(rest, '0');
  const bool b_high = b.substr(1) == std::string(rest, '9');
  const char lo = static_cast<char>(a[0] + (a_low ? 0 : 1));
  const char hi = static_cast<char>(b[0] - (b_high ? 0 : 1));
  const std::string tail = rest == 0 ? "" : fmt::format(" [0-9]{{{}}}", rest);
  std::vector<std::string> alts;
  if (!a_low) {
    alts.push_back(gbnf_literal(a.substr(0, 1)) + " " +
                   same_length_range(a.substr(1), std::string(rest, '9')));
  }
  if (lo <= hi) alts.push_back(fmt::format("[{}-{}]", lo, hi) + tail);
  if (!b_high) {
    alts.push_back(gbnf_literal(b.substr(0, 1)) + " " +
                   same_length_range(std::string(rest, '0'), b.substr(1)));
  }
  return fmt::format("({})", fmt::join(alts, " | "));
}

// Non-negative integers in [lo, hi] (hi nullopt: up to 15 digits), without leading zeros.
std::string nonnegative_range(int64_t lo, std::optional<int64_t> hi) {
  const auto length = [](int64_t v) { return static_cast<int>(std::to_string(v).size()); };
  const int lo_len = length(lo);
  const int hi_len = hi ? length(*hi) : 15;
  std::vector<std::string> alts;
  for (int len = lo_len; len <= hi_len; ++len) {
    const int64_t floor = len == 1 ? 0 : static_cast<int64_t>(std::pow(10.0, len - 1));
    const int64_t ceil = static_cast<int64_t>(std::pow(10.0, len)) - 1;
    const int64_t a = std::max(lo, floor);
    const int64_t b = hi && len == hi_len ? *hi : ceil;
    if (a > b) continue;
    if (!hi && len > lo_len) {  // every longer length, whole
      alts.push_back(fmt::format("[1-9] [0-9]{{{},{}}}", len - 1, hi_len - 1));
      break;
    }
    alts.push_back(same_length_range(std::to_string(a), std::to_string(b)));
  }
  return alts.size() == 1 ? alts[0] : fmt::format("({})", fmt::join(alts, " | "));
}

class Converter {
 public:
  explicit Converter(const json& root) : root_(root) {}

  Expected<std::string> run() {
    const std::string expr = visit(root_, "root-value", "");
    if (!error_.empty()) return Status::Error(error_);
    std::string out = "root ::= ws " + expr + "\n";
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    return out + kPrimitives;
  }

 private:
  void fail(const std::string& path, const std::string& what) {
    if (error_.empty())
      error_ = fmt::format("schema{}: {}", path.empty() ? "" : " at " + path, what);
  }

  std::string unique_name(const std::string& hint) {
    std::string base = sanitize(hint), name = base;
    for (int i = 2; used_.count(name) || kReserved.count(name); ++i)
      name = fmt::format("{}-{}", base, i);
    used_.insert(name);
    return name;
  }

  std::string define(const std::string& hint, const std::string& body) {
    const std::string name = unique_name(hint);
    rules_.emplace_back(name, body);
    return name;
  }

  std::string define_alternatives(const std::string& hint, const std::vector<std::string>& alts) {
    return define(hint, fmt::format("{}", fmt::join(alts, " | ")));
  }

  std::string visit(const json& s, const std::string& hint, const std::string& path) {
    if (!error_.empty()) return "null";
    if (depth_ >= kMaxDepth) {
      fail(path, fmt::format("the schema nests deeper than {} levels", kMaxDepth));
      return "null";
    }
    ++depth_;
    std::string expr = visit_schema(s, hint, path);
    --depth_;
    return expr;
  }

  std::string visit_schema(const json& s, const std::string& hint, const std::string& path) {
    if (s.is_boolean()) {
      if (s.get<bool>()) return "value";
      fail(path, "the schema false matches nothing");
      return "null";
    }
    if (!s.is_object()) {
      fail(path, "a schema must be an object or a boolean, not " + std::string(s.type_name()));
      return "null";
    }
    for (const auto& [key, value] : s.items()) {
      if (!kAnnotations.count(key) && !kKeywords.count(key)) {
        fail(path, fmt::format("the keyword '{}' is not supported", key));
        return "null";
      }
    }
    // A combinator or a reference decides alone: other constraints beside it are refused rather
    // than dropped ('type' may accompany 'enum' and 'const', whose values decide).
    for (const char* key : {"$ref", "anyOf", "oneOf", "allOf", "enum", "const"}) {
      if (!s.contains(key)) continue;
      for (const auto& [other, value] : s.items()) {
        const bool typed_values =
            other == "type" && (std::string(key) == "enum" || std::string(key) == "const");
        if (other != key && !kAnnotations.count(other) && other != "nullable" && !typed_values) {
          fail(path, fmt::format("'{}' together with '{}' is not supported", key, other));
          return "null";
        }
      }
    }
    if (s.contains("nullable") && !s["nullable"].is_boolean()) {
      fail(path, "'nullable' must be a boolean");
      return "null";
    }
    if (s.value("nullable", false)) {
      json inner = s;
      inner.erase("nullable");
      return define(hint, visit(inner, hint + "-value", path) + " | null");
    }
    if (s.contains("$ref")) return reference(s["$ref"], path);
    if (s.contains("const")) return gbnf_literal(s["const"].dump());
    if (s.contains("enum")) {
      const json& e = s["enum"];
      if (!e.is_array() || e.empty()) {
        fail(path, "'enum' must be a non-empty array");
        return "null";
      }
      std::vector<std::string> alts;
      for (const json& v : e) alts.push_back(gbnf_literal(v.dump()));
      return define_alternatives(hint, alts);
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      const json& list = s[key];
      if (!list.is_array() || list.empty()) {
        fail(path, fmt::format("'{}' must be a non-empty array", key));
        return "null";
      }
      std::vector<std::string> alts;
      for (size_t i = 0; i < list.size(); ++i) {
        alts.push_back(
            visit(list[i], fmt::format("{}-{}", hint, i), fmt::format("{}/{}/{}", path, key, i)));
      }
      return define_alternatives(hint, alts);
    }
    if (s.contains("allOf")) {
      const json& list = s["allOf"];
      if (!list.is_array() || list.size() != 1) {
        fail(path, "'allOf' is supported with exactly one schema");
        return "null";
      }
      return visit(list[0], hint, path + "/allOf/0");
    }
    if (s.contains("type") && s["type"].is_array()) {
      std::vector<std::string> alts;
      for (const json& t : s["type"]) {
        json one = s;
        one["type"] = t;
        alts.push_back(visit(one, hint + "-" + (t.is_string() ? t.get<std::string>() : "x"), path));
      }
      if (alts.empty()) fail(path, "'type' must not be an empty list");
      return define_alternatives(hint, alts);
    }
    std::string type;
    if (s.contains("type")) {
      if (!s["type"].is_string()) {
        fail(path, "'type' must be a string or a list of strings");
        return "null";
      }
      type = s["type"].get<std::string>();
    } else if (s.contains("properties") || s.contains("required") ||
               s.contains("additionalProperties")) {
      type = "object";
    } else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
      type = "array";
    } else if (s.contains("minLength") || s.contains("maxLength") || s.contains("format")) {
      type = "string";
    } else {
      return "value";
    }
    if (type == "object") return object(s, hint, path);
    if (type == "array") return array(s, hint, path);
    if (type == "string") return string(s, hint, path);
    if (type == "integer") return integer(s, hint, path);
    if (type == "number") return number(s, path);
    if (type == "boolean") return "boolean";
    if (type == "null") return "null";
    fail(path, fmt::format("unknown type '{}'", type));
    return "null";
  }

  // A JSON pointer into the root: "#", "#/$defs/Name", "#/definitions/Name", ...
  std::string reference(const json& ref, const std::string& path) {
    if (!ref.is_string()) {
      fail(path, "'$ref' must be a string");
      return "null";
    }
    const std::string target = ref.get<std::string>();
    if (auto it = refs_.find(target); it != refs_.end()) return it->second;
    if (target.empty() || target[0] != '#') {
      fail(path,
           fmt::format("'$ref' '{}' is not inside this schema (only '#...' references)", target));
      return "null";
    }
    const json* node = &root_;
    std::string last = "root";
    size_t pos = 1;
    while (pos < target.size()) {
      if (target[pos] != '/') break;
      const size_t next = std::min(target.find('/', pos + 1), target.size());
      std::string token = target.substr(pos + 1, next - pos - 1);
      for (size_t i; (i = token.find("~1")) != std::string::npos;) token.replace(i, 2, "/");
      for (size_t i; (i = token.find("~0")) != std::string::npos;) token.replace(i, 2, "~");
      if (!node->is_object() || !node->contains(token)) {
        fail(path, fmt::format("'$ref' '{}' does not resolve", target));
        return "null";
      }
      node = &(*node)[token];
      last = token;
      pos = next;
    }
    if (pos != target.size()) {
      fail(path, fmt::format("'$ref' '{}' is not a JSON pointer", target));
      return "null";
    }
    const std::string name = unique_name("ref-" + last);
    refs_[target] = name;
    const size_t slot = rules_.size();
    rules_.emplace_back(name, "");
    const std::string body = visit(*node, last, target.substr(1));
    rules_[slot].second = body;
    return name;
  }

  std::string object(const json& s, const std::string& hint, const std::string& path) {
    const json empty = json::object();
    const json& props = s.contains("properties") ? s["properties"] : empty;
    if (!props.is_object()) {
      fail(path, "'properties' must be an object");
      return "null";
    }
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) {
        fail(path, "'required' must be an array of property names");
        return "null";
      }
      for (const json& r : s["required"]) {
        if (!r.is_string() || !props.contains(r.get<std::string>())) {
          fail(path, fmt::format("'required' names {}, which is not in 'properties'", r.dump()));
          return "null";
        }
        required.insert(r.get<std::string>());
      }
    }
    // Without 'properties' an absent additionalProperties allows any members (`{"type":
    // "object"}` is any object); with them it allows none (strict mode's rule).
    const bool has_extra =
        s.contains("additionalProperties")
            ? !(s["additionalProperties"].is_boolean() && !s["additionalProperties"].get<bool>())
            : !s.contains("properties");
    if (has_extra && props.empty() && s.value("additionalProperties", json(true)) == json(true)) {
      return "object";
    }
    std::string extra;  // the rule of one additional member, or "" when none are allowed
    if (has_extra) {
      const std::string v = s.contains("additionalProperties")
                                ? visit(s["additionalProperties"], hint + "-additional",
                                        path + "/additionalProperties")
                                : "value";
      extra = define(hint + "-member", "string ws \":\" ws " + v + " ws");
    }
    struct Prop {
      std::string member;
      bool required;
    };
    std::vector<Prop> list;
    for (const auto& [key, value] : props.items()) {
      const std::string v = visit(value, hint + "-" + key, path + "/properties/" + key);
      list.push_back(
          {gbnf_literal(json(key).dump()) + " ws \":\" ws " + v + " ws", required.count(key) != 0});
    }
    // Properties in order; first[i]/rest[i]: the members from i on, before/after a first one
    // was written (rest ones start with a comma).
    const size_t n = list.size();
    std::vector<std::string> first(n + 1), rest(n + 1);
    rest[n] = extra.empty() ? "\"\"" : "( \",\" ws " + extra + " )*";
    first[n] = extra.empty() ? "\"\"" : "( " + extra + " ( \",\" ws " + extra + " )* )?";
    for (size_t k = n; k-- > 0;) {
      const std::string after = define(hint + "-after-" + std::to_string(k), rest[k + 1]);
      const std::string with_first = list[k].member + " " + after;
      const std::string with_rest = "\",\" ws " + list[k].member + " " + after;
      if (list[k].required) {
        first[k] = with_first;
        rest[k] = with_rest;
      } else {
        const std::string skip_first =
            define(hint + "-from-" + std::to_string(k + 1), first[k + 1]);
        first[k] = with_first + " | " + skip_first;
        rest[k] = with_rest + " | " + after;
      }
      // `after` is rest[k + 1]; keep the chain of rules short: rest[k] refers to it by name.
    }
    return define(hint, "\"{\" ws ( " + first[0] + " ) \"}\"");
  }

  std::string array(const json& s, const std::string& hint, const std::string& path) {
    const std::string item =
        s.contains("items") ? visit(s["items"], hint + "-item", path + "/items") : "value";
    const int64_t min = count(s, "minItems", 0, path);
    const int64_t max = count(s, "maxItems", -1, path);
    if (max >= 0 && max < min) fail(path, "maxItems is below minItems");
    if (max == 0) return define(hint, "\"[\" ws \"]\"");
    const std::string more = "( \",\" ws " + item + " ws )" +
                             repetition(std::max<int64_t>(min - 1, 0), max < 0 ? -1 : max - 1);
    const std::string body = item + " ws " + more;
    return define(hint,
                  min == 0 ? "\"[\" ws ( " + body + " )? \"]\"" : "\"[\" ws " + body + " \"]\"");
  }

  std::string string(const json& s, const std::string& hint, const std::string& path) {
    if (s.contains("format")) {
      const std::string f = s["format"].is_string() ? s["format"].get<std::string>() : "";
      const char* rule = f == "date"        ? "date"
                         : f == "time"      ? "time"
                         : f == "date-time" ? "date \"T\" time"
                         : f == "uuid"      ? "uuid"
                                            : nullptr;
      if (!rule) {
        fail(path,
             fmt::format("the string format {} is not supported (date, time, date-time, uuid are)",
                         s["format"].dump()));
        return "null";
      }
      return define(hint, std::string("\"\\\"\" ") + rule + " \"\\\"\"");
    }
    const int64_t min = count(s, "minLength", 0, path);
    const int64_t max = count(s, "maxLength", -1, path);
    if (max >= 0 && max < min) fail(path, "maxLength is below minLength");
    if (min == 0 && max < 0) return "string";
    return define(hint, "\"\\\"\" char" + repetition(min, max) + " \"\\\"\"");
  }

  std::optional<int64_t> bound(const json& s, const char* key, bool lower,
                               const std::string& path) {
    if (!s.contains(key)) return std::nullopt;
    const json& v = s[key];
    if (!v.is_number()) {
      fail(path, fmt::format("'{}' must be a number", key));
      return std::nullopt;
    }
    const double d = v.get<double>();
    const bool exclusive = std::string(key).rfind("exclusive", 0) == 0;
    double b = lower ? std::ceil(d) : std::floor(d);
    if (exclusive && b == d) b += lower ? 1 : -1;
    if (std::abs(b) > static_cast<double>(kMaxIntBound)) {
      fail(path, fmt::format("'{}' {} is beyond the 15 digits an integer may have here", key, d));
      return std::nullopt;
    }
    return static_cast<int64_t>(b);
  }

  std::string integer(const json& s, const std::string& hint, const std::string& path) {
    std::optional<int64_t> lo, hi;
    for (const char* key : {"minimum", "exclusiveMinimum"}) {
      if (auto b = bound(s, key, true, path)) lo = lo ? std::max(*lo, *b) : *b;
    }
    for (const char* key : {"maximum", "exclusiveMaximum"}) {
      if (auto b = bound(s, key, false, path)) hi = hi ? std::min(*hi, *b) : *b;
    }
    if (!lo && !hi) return "integer";
    if (lo && hi && *lo > *hi) {
      fail(path, "the integer bounds leave no value");
      return "null";
    }
    std::vector<std::string> alts;
    if (!lo || *lo < 0) {  // negative values: "-" and the magnitude
      const int64_t mag_lo = hi && *hi < 0 ? -*hi : 1;
      std::optional<int64_t> mag_hi;
      if (lo) mag_hi = -*lo;
      alts.push_back("\"-\" " + nonnegative_range(mag_lo, mag_hi));
    }
    if (!hi || *hi >= 0) alts.push_back(nonnegative_range(lo ? std::max<int64_t>(*lo, 0) : 0, hi));
    return define_alternatives(hint, alts);
  }

  std::string number(const json& s, const std::string& path) {
    const bool has_bounds = s.contains("minimum") || s.contains("maximum") ||
                            s.contains("exclusiveMinimum") || s.contains("exclusiveMaximum");
    if (!has_bounds) return "number";
    if (s.contains("minimum") && s["minimum"].is_number() && s["minimum"].get<double>() == 0.0 &&
        !s.contains("maximum") && !s.contains("exclusiveMinimum") &&
        !s.contains("exclusiveMaximum")) {
      return define("nonnegative-number",
                    "integral ( \".\" [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?");
    }
    fail(path, "bounds on a number are supported only as minimum 0 (integers take any bounds)");
    return "null";
  }

  int64_t count(const json& s, const char* key, int64_t absent, const std::string& path) {
    if (!s.contains(key)) return absent;
    const json& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      fail(path, fmt::format("'{}' must be a non-negative integer", key));
      return absent;
    }
    if (v.get<int64_t>() > kMaxCount) {
      fail(path,
           fmt::format("'{}' {} is above the {} supported", key, v.get<int64_t>(), kMaxCount));
      return absent;
    }
    return v.get<int64_t>();
  }

  inline static const std::set<std::string> kReserved = {
      "root",    "ws",       "value",   "object", "array", "string", "char", "number",
      "integer", "integral", "boolean", "null",   "date",  "time",   "uuid"};

  const json& root_;
  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> used_;
  std::map<std::string, std::string> refs_;
  std::string error_;
  int depth_ = 0;
};

}  // namespace

Expected<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema) {
  return Converter(schema).run();
}

std::string json_object_gbnf() {
  return std::string("root ::= ws object\n") + kPrimitives;
}

}  // namespace tenbin::grammar
