// The values a chat template computes with: undefined, none, bool, int, double, string, list
// and map (insertion-ordered, string keys), with Python/Jinja semantics for truthiness,
// equality, printing (`{{ x }}`) and repr. Lists and maps share their storage on copy so a
// `namespace()` object can be updated in place (`{% set ns.x = ... %}`); values live for one
// render, so nothing is shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tenbin::jinja {

class Value;
using ValueList = std::vector<Value>;
using ValueMap = std::vector<std::pair<std::string, Value>>;  // keeps insertion order

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kDouble, kString, kList, kMap };

  Value() = default;  // undefined
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double d);
  static Value string(std::string s);
  static Value list(ValueList items = {});
  static Value map(ValueMap items = {});
  static Value namespace_object(ValueMap items = {});  // a map marked assignable

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_double() const { return kind_ == Kind::kDouble; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kDouble; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_map() const { return kind_ == Kind::kMap; }
  bool is_namespace() const { return kind_ == Kind::kMap && namespace_; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kDouble ? static_cast<int64_t>(d_) : i_; }
  double as_double() const { return kind_ == Kind::kDouble ? d_ : static_cast<double>(i_); }
  const std::string& str() const { return s_; }
  const ValueList& items() const { return *list_; }
  ValueList& mutable_items() { return *list_; }
  const ValueMap& entries() const { return *map_; }

  // Map access; nullptr when the key is absent.
  const Value* find(std::string_view key) const;
  // Inserts or replaces (visible through every copy of this map).
  void set(const std::string& key, Value value);

  bool truthy() const;
  // Number of elements (string: code points); -1 for kinds without a length.
  int64_t length() const;
  // What `{{ x }}` prints: undefined -> "", none -> "None", true -> "True", lists as Python repr.
  std::string to_output() const;
  // Python repr: strings quoted, as they appear inside a printed list.
  std::string repr() const;
  // Jinja's type names in messages: "string", "list", "int", ...
  std::string_view type_name() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  bool namespace_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<ValueMap> map_;
};

// Python `==` (1 == 1.0, deep for lists and maps).
bool values_equal(const Value& a, const Value& b);
// Python formatting of a double: 1.0, 0.5, 1e+20.
std::string format_double(double d);
// Splits UTF-8 text into code points (bytes of invalid sequences stand alone).
std::vector<std::string> utf8_chars(std::string_view s);

}  // namespace tenbin::jinja
