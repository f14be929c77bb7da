// A complete (non-streamed) HTTP response as handlers build it, and the bytes on the wire for
// responses and SSE streams (status line, headers, chunked framing). Plain strings, no Boost
// types; the serializers are pure functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tenbin::server::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;  // extra headers (Retry-After, ...); never Content-Length/Connection

  static HttpResponse json(int status, std::string body);
  static HttpResponse text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
};

std::string_view reason_phrase(int status);

// Status line, headers (with Content-Length and Connection) and body.
std::string serialize_response(const HttpResponse& response, bool keep_alive);
// Header block of a 200 `text/event-stream` reply sent with chunked transfer encoding.
std::string serialize_sse_head(const HeaderList& extra_headers, bool keep_alive);
// One chunk of a chunked body (empty input gives empty output, never the last chunk).
std::string encode_chunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
// An SSE event carrying `payload` in `data:` lines (one per line of the payload).
std::string sse_event(std::string_view payload);

}  // namespace tenbin::server::http
