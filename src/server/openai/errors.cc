// Error bodies built with nlohmann::ordered_json: messages are always escaped correctly and
// fields keep OpenAI's order (message, type, param, code).
#include "server/openai/errors.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tenbin::server::openai {

std::string error_body(std::string_view message, std::string_view type,
                       std::optional<std::string_view> param,
                       std::optional<std::string_view> code) {
  nlohmann::ordered_json error = {
      {"message", std::string(message)},
      {"type", std::string(type)},
      {"param",
       param ? nlohmann::ordered_json(std::string(*param)) : nlohmann::ordered_json(nullptr)},
      {"code", code ? nlohmann::ordered_json(std::string(*code)) : nlohmann::ordered_json(nullptr)},
  };
  // Invalid UTF-8 in a message (e.g. echoed from a request) is replaced, never thrown on.
  return nlohmann::ordered_json{{"error", error}}.dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace);
}

http::HttpResponse error_response(int status, std::string_view message, std::string_view type,
                                  std::optional<std::string_view> param,
                                  std::optional<std::string_view> code) {
  return http::HttpResponse::json(status, error_body(message, type, param, code));
}

http::HttpResponse bad_request(std::string_view message, std::optional<std::string_view> param,
                               std::optional<std::string_view> code) {
  return error_response(400, message, "invalid_request_error", param, code);
}

http::HttpResponse invalid_api_key() {
  return error_response(401, "Incorrect API key provided.", "authentication_error", std::nullopt,
                        "invalid_api_key");
}

http::HttpResponse not_found(std::string_view method, std::string_view path) {
  return error_response(404, fmt::format("Invalid URL ({} {})", method, path),
                        "invalid_request_error", std::nullopt, "not_found");
}

http::HttpResponse resource_not_found(std::string_view message,
                                      std::optional<std::string_view> code) {
  return error_response(404, message, "not_found_error", std::nullopt, code);
}

http::HttpResponse method_not_allowed(std::string_view method, std::string_view path,
                                      std::string_view allow) {
  http::HttpResponse r = error_response(
      405, fmt::format("Method {} is not allowed for {} (allowed: {})", method, path, allow),
      "invalid_request_error", std::nullopt, "method_not_allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

http::HttpResponse request_timeout(std::string_view message) {
  return error_response(408, message, "timeout_error", std::nullopt, "request_timeout");
}

http::HttpResponse payload_too_large(size_t limit_bytes) {
  return error_response(
      413, fmt::format("Request body is larger than the limit of {} bytes", limit_bytes),
      "invalid_request_error", std::nullopt, "request_too_large");
}

http::HttpResponse too_many_requests(std::string_view message, int retry_after_seconds) {
  http::HttpResponse r =
      error_response(429, message, "rate_limit_error", std::nullopt, "rate_limit_exceeded");
  r.headers.emplace_back("Retry-After", std::to_string(std::max(1, retry_after_seconds)));
  return r;
}

http::HttpResponse internal_error(std::string_view message) {
  return error_response(500, message, "server_error", std::nullopt, "internal_error");
}

http::HttpResponse service_unavailable(std::string_view message, int retry_after_seconds) {
  http::HttpResponse r =
      error_response(503, message, "server_error", std::nullopt, "service_unavailable");
  if (retry_after_seconds > 0) {
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  }
  return r;
}

}  // namespace tenbin::server::openai
