// A rejected OpenAI request: the message, the JSON path of the offending field (`param`, e.g.
// "messages[2].content") and an OpenAI error code. ParseResult<T> is Expected<T> with such an
// error instead of a plain Status, so route handlers can answer with OpenAI's 400 error object.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

#include "server/http/response.h"
#include "server/openai/errors.h"
#include "util/status.h"

namespace tenbin::server::openai {

struct RequestError {
  std::string message;
  std::string param;  // JSON path; empty when the error is about the whole body
  std::string code;   // "invalid_type", "invalid_value", ...; empty for none

  // 400 invalid_request_error with `param` and `code` (null when empty).
  http::HttpResponse response() const {
    auto opt = [](const std::string& s) {
      return s.empty() ? std::nullopt : std::optional<std::string_view>(s);
    };
    return bad_request(message, opt(param), opt(code));
  }
  Status status() const { return Status::Error(message); }
};

template <class T>
class ParseResult {
 public:
  ParseResult(T value) : value_(std::move(value)) {}             // NOLINT: implicit by design
  ParseResult(RequestError error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const RequestError& error() const {
    assert(!ok());
    return error_;
  }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  RequestError error_;
};

}  // namespace tenbin::server::openai
