// Parses the base URL a client talks to ("http://host:port/prefix") into host, port and path
// prefix. Only plain http is supported (TLS is the router's later concern); a value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace tenbin::http_client {

struct HttpUrl {
  std::string host;       // name or address, without brackets
  uint16_t port = 80;     // 80 when the URL names none
  std::string base_path;  // "" or "/prefix" without a trailing slash

  // "host:port" as the Host header carries it.
  std::string host_header() const;
};

// Accepts "http://host[:port][/path]"; a missing scheme means http. Fails with a message
// naming the value on https, an empty host or a bad port.
Expected<HttpUrl> parse_http_url(std::string_view url);

}  // namespace tenbin::http_client
