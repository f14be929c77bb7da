// OpenAI-style error replies: `{"error":{"message","type","param","code"}}` with the matching
// HTTP status, so the official SDKs raise their usual exception types. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/http/response.h"

namespace tenbin::server::openai {

// The JSON body; `param` and `code` are null when absent.
std::string error_body(std::string_view message, std::string_view type,
                       std::optional<std::string_view> param = std::nullopt,
                       std::optional<std::string_view> code = std::nullopt);

http::HttpResponse error_response(int status, std::string_view message, std::string_view type,
                                  std::optional<std::string_view> param = std::nullopt,
                                  std::optional<std::string_view> code = std::nullopt);

// 400 invalid_request_error (`param` names the offending field).
http::HttpResponse bad_request(std::string_view message,
                               std::optional<std::string_view> param = std::nullopt,
                               std::optional<std::string_view> code = std::nullopt);
// 401 authentication_error, code invalid_api_key.
http::HttpResponse invalid_api_key();
// 404 for an unknown route; not_found_error for missing resources (models).
http::HttpResponse not_found(std::string_view method, std::string_view path);
http::HttpResponse resource_not_found(std::string_view message,
                                      std::optional<std::string_view> code = std::nullopt);
// 405 with an Allow header.
http::HttpResponse method_not_allowed(std::string_view method, std::string_view path,
                                      std::string_view allow);
// 408: the request took longer than its deadline (or the client was too slow sending it).
http::HttpResponse request_timeout(std::string_view message);
// 413: body over the limit.
http::HttpResponse payload_too_large(size_t limit_bytes);
// 429 with Retry-After (whole seconds, at least 1).
http::HttpResponse too_many_requests(std::string_view message, int retry_after_seconds);
// 500 server_error.
http::HttpResponse internal_error(std::string_view message);
// 503 (overloaded, shutting down, model not loaded); Retry-After when > 0.
http::HttpResponse service_unavailable(std::string_view message, int retry_after_seconds = 0);

}  // namespace tenbin::server::openai
