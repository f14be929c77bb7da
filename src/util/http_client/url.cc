#include "util/http_client/url.h"

#include <charconv>

namespace tenbin::http_client {

std::string HttpUrl::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Expected<HttpUrl> parse_http_url(std::string_view url) {
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    return Status::Errorf("URL '{}': https is not supported; use http://", url);
  }
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);

  HttpUrl out;
  out.base_path = std::string(path);
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::Errorf("URL '{}': unclosed '['", url);
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (after.starts_with(":")) port_text = after.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Status::Errorf("URL '{}': no host", url);
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return Status::Errorf("URL '{}': bad port '{}'", url, port_text);
    }
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

}  // namespace tenbin::http_client
