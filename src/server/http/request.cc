// Case-insensitive header lookup for HttpRequest.
#include "server/http/request.h"

#include <algorithm>

namespace tenbin::server::http {

std::string_view HttpRequest::header(std::string_view name) const {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  for (const auto& [key, value] : headers) {
    if (std::equal(key.begin(), key.end(), name.begin(), name.end(),
                   [&](char a, char b) { return lower(a) == lower(b); })) {
      return value;
    }
  }
  return {};
}

}  // namespace tenbin::server::http
