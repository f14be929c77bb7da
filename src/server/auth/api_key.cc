// Bearer-token check.
#include "server/auth/api_key.h"

#include <algorithm>

#include "server/openai/errors.h"

namespace tenbin::server::auth {
namespace {

bool starts_with_bearer(std::string_view value) {
  constexpr std::string_view kBearer = "bearer ";
  if (value.size() < kBearer.size()) return false;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kBearer[i]) return false;
  }
  return true;
}

}  // namespace

bool constant_time_equals(std::string_view given, std::string_view expected) {
  volatile unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = diff | (g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

std::optional<http::HttpResponse> ApiKeyAuth::check(const http::HttpRequest& request) const {
  if (!enabled()) return std::nullopt;
  if (std::find(options_.exempt_paths.begin(), options_.exempt_paths.end(), request.path) !=
      options_.exempt_paths.end()) {
    return std::nullopt;
  }
  std::string_view value = request.header("authorization");
  if (starts_with_bearer(value)) {
    std::string_view token = value.substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (constant_time_equals(token, options_.api_key)) return std::nullopt;
  }
  return openai::invalid_api_key();
}

http::Guard ApiKeyAuth::guard() const {
  return [auth = *this](const http::HttpRequest& request) { return auth.check(request); };
}

}  // namespace tenbin::server::auth
