// Typed, validated access to the members of one JSON object of a request. Getters return
// nullopt for absent or null members (null means "use the default", as OpenAI treats it) and
// record the first error (wrong type, out of range, bad UTF-8) with the member's JSON path.
// finish() rejects every member no getter or ignore() asked for. Never throws.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/openai/request_error.h"

namespace tenbin::server::openai {

class FieldReader {
 public:
  // `object` must outlive the reader; `path` is its JSON path ("" for the body itself).
  FieldReader(const nlohmann::json& object, std::string path);

  std::optional<double> number(std::string_view key, double lo, double hi);
  std::optional<int64_t> integer(std::string_view key, int64_t lo, int64_t hi);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::string> string(std::string_view key);
  // The raw member (any type) for callers that check it themselves; nullptr when absent/null.
  const nlohmann::json* raw(std::string_view key);
  // A member that must be present and not null.
  const nlohmann::json* required(std::string_view key);
  // Accepted and not used (e.g. "user", "metadata").
  void ignore(std::initializer_list<std::string_view> keys);

  // Records `error` unless an earlier one exists.
  void fail(RequestError error);
  void fail(std::string message, std::string param, std::string code = "invalid_value");
  // Rejects unknown members; returns the first error of all, if any.
  std::optional<RequestError> finish();

  bool failed() const { return error_.has_value(); }
  std::string path_of(std::string_view key) const;

 private:
  const nlohmann::json* lookup(std::string_view key);
  void type_error(std::string_view key, const nlohmann::json& value, std::string_view expected);

  const nlohmann::json& object_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
  std::optional<RequestError> error_;
};

// Shared helpers for values found inside arrays and nested objects.
std::string json_type_name(const nlohmann::json& value);  // "a string", "an array", ...
std::string type_error_message(std::string_view path, std::string_view expected,
                               const nlohmann::json& value);
// Integral value of `value` (integers, or floats with no fraction); nullopt otherwise.
std::optional<int64_t> as_integer(const nlohmann::json& value);
// Checks a string for UTF-8 validity; the error names `path`.
std::optional<RequestError> check_utf8(std::string_view text, const std::string& path);

}  // namespace tenbin::server::openai
