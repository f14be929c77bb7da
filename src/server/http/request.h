// One parsed HTTP request as handlers see it: plain strings, no Boost types. Header names are
// stored lower-case so lookups are case-insensitive. A value type; not shared between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tenbin::server::http {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // as sent: path plus optional "?query"
  std::string path;                                          // target without the query
  std::string query;                                         // after '?', or empty
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote;  // peer address, "ip:port"

  // Value of the first header named `name` (any case), or empty.
  std::string_view header(std::string_view name) const;
};

}  // namespace tenbin::server::http
