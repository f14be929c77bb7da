// `--api-key` enforcement: requests must carry `Authorization: Bearer <key>`, compared in
// constant time; others get 401 invalid_api_key. Some paths (/health, /metrics by default)
// can stay open for probes and scrapers. Immutable after construction: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/request.h"
#include "server/http/response.h"
#include "server/http/router.h"

namespace tenbin::server::auth {

struct ApiKeyOptions {
  std::string api_key;  // empty: authentication disabled
  std::vector<std::string> exempt_paths = {"/health", "/metrics"};
};

class ApiKeyAuth {
 public:
  explicit ApiKeyAuth(ApiKeyOptions options) : options_(std::move(options)) {}

  bool enabled() const { return !options_.api_key.empty(); }
  // nullopt when the request may proceed, else the 401 reply.
  std::optional<http::HttpResponse> check(const http::HttpRequest& request) const;
  // A router guard running check(); copies the options.
  http::Guard guard() const;

 private:
  ApiKeyOptions options_;
};

// Compares without early exit; the time depends only on `expected`'s length.
bool constant_time_equals(std::string_view given, std::string_view expected);

}  // namespace tenbin::server::auth
