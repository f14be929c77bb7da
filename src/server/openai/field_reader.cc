// Error messages follow OpenAI's wording ("Invalid type for 'n': expected an integer, but got
// a string instead.", "Unknown parameter: 'foo'.") so clients see familiar text.
#include "server/openai/field_reader.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "server/openai/utf8.h"

namespace tenbin::server::openai {

using json = nlohmann::json;

std::string json_type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_float:
      return "a decimal";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    default:
      return "an unsupported value";
  }
}

std::string type_error_message(std::string_view path, std::string_view expected,
                               const json& value) {
  return fmt::format("Invalid type for '{}': expected {}, but got {} instead.", path, expected,
                     json_type_name(value));
}

std::optional<int64_t> as_integer(const json& value) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::abs(d) < 9.0e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

std::optional<RequestError> check_utf8(std::string_view text, const std::string& path) {
  if (auto bad = first_invalid_utf8(text)) {
    return RequestError{fmt::format("Invalid UTF-8 in '{}' at byte {}", path, *bad), path,
                        "invalid_utf8"};
  }
  return std::nullopt;
}

FieldReader::FieldReader(const json& object, std::string path)
    : object_(object), path_(std::move(path)) {}

std::string FieldReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

const json* FieldReader::lookup(std::string_view key) {
  seen_.emplace(key);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

void FieldReader::type_error(std::string_view key, const json& value, std::string_view expected) {
  fail(type_error_message(path_of(key), expected, value), path_of(key), "invalid_type");
}

std::optional<double> FieldReader::number(std::string_view key, double lo, double hi) {
  const json* v = lookup(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    type_error(key, *v, "a number");
    return std::nullopt;
  }
  const double d = v->get<double>();
  if (!(d >= lo && d <= hi)) {
    fail(fmt::format("Invalid value for '{}': {} is not in [{}, {}].", path_of(key), d, lo, hi),
         path_of(key));
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> FieldReader::integer(std::string_view key, int64_t lo, int64_t hi) {
  const json* v = lookup(key);
  if (!v) return std::nullopt;
  const auto i = as_integer(*v);
  if (!i) {
    if (v->is_number()) {
      fail(fmt::format("Invalid value for '{}': {} is not an integer in [{}, {}].", path_of(key),
                       v->dump(), lo, hi),
           path_of(key));
    } else {
      type_error(key, *v, "an integer");
    }
    return std::nullopt;
  }
  if (*i < lo || *i > hi) {
    fail(fmt::format("Invalid value for '{}': {} is not in [{}, {}].", path_of(key), *i, lo, hi),
         path_of(key));
    return std::nullopt;
  }
  return i;
}

std::optional<bool> FieldReader::boolean(std::string_view key) {
  const json* v = lookup(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    type_error(key, *v, "a boolean");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::string> FieldReader::string(std::string_view key) {
  const json* v = lookup(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    type_error(key, *v, "a string");
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (auto e = check_utf8(s, path_of(key))) {
    fail(std::move(*e));
    return std::nullopt;
  }
  return s;
}

const json* FieldReader::raw(std::string_view key) {
  return lookup(key);
}

const json* FieldReader::required(std::string_view key) {
  const json* v = lookup(key);
  if (!v) {
    fail(fmt::format("Missing required parameter: '{}'.", path_of(key)), path_of(key),
         "missing_required_parameter");
  }
  return v;
}

void FieldReader::ignore(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) seen_.emplace(k);
}

void FieldReader::fail(RequestError error) {
  if (!error_) error_ = std::move(error);
}

void FieldReader::fail(std::string message, std::string param, std::string code) {
  fail(RequestError{std::move(message), std::move(param), std::move(code)});
}

std::optional<RequestError> FieldReader::finish() {
  if (!error_ && object_.is_object()) {
    for (const auto& [key, value] : object_.items()) {
      if (seen_.find(key) != seen_.end()) continue;
      std::string path = path_of(key);
      if (auto e = check_utf8(key, path)) {
        fail(std::move(*e));
      } else {
        fail(fmt::format("Unknown parameter: '{}'.", path), path, "unknown_parameter");
      }
      break;
    }
  }
  return error_;
}

}  // namespace tenbin::server::openai
