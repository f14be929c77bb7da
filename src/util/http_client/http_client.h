// An asynchronous HTTP/1.1 client on Boost.Asio/Beast for one origin (host:port), shared by
// `bench` and the router. Many exchanges run at once on one io_context thread; response
// bodies are handed over as they arrive (chunked or not), so Server-Sent Event streams can be
// timed token by token. Keep-alive connections are pooled and reused; a reused connection
// the server had closed is retried once on a fresh one.
// Thread-safety: not thread-safe. Call every method on the thread that runs the io_context
// (or before it runs); handlers run on that thread too. Beast stays out of this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace tenbin::http_client {

struct HttpClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 80;
  std::chrono::milliseconds connect_timeout{10'000};
  size_t max_idle_connections = 4096;  // pooled keep-alive connections beyond this are closed
};

struct HttpClientRequest {
  std::string method = "POST";
  std::string target = "/";  // path and query
  std::string body{};
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers{};  // extra headers (Authorization, ...)
  // The whole exchange (connect, send, the full response) must end within this; 0 = no limit.
  std::chrono::milliseconds timeout{0};
};

// Why an exchange ended without a complete response.
enum class HttpErrorKind {
  kNone,        // complete response received (any status)
  kConnect,     // could not resolve or connect
  kTimeout,     // the request's timeout passed
  kConnection,  // the connection broke or closed before the response was complete
  kProtocol,    // the peer sent something that is not HTTP/1.1
  kCancelled,   // cancel_all() was called
};

std::string_view error_kind_name(HttpErrorKind kind);  // "connect", "timeout", ...

struct HttpResult {
  HttpErrorKind error = HttpErrorKind::kNone;
  int status = 0;       // HTTP status when headers arrived, else 0
  std::string message;  // what went wrong, for people; empty on success
  bool ok() const { return error == HttpErrorKind::kNone; }
};

struct HttpResponseHandlers {
  // Headers received: the status and the headers (names lower-case). Optional.
  std::function<void(int status, const std::vector<std::pair<std::string, std::string>>& headers)>
      on_headers{};
  // Decoded body bytes (chunk framing removed), as they arrive. Optional.
  std::function<void(std::string_view bytes)> on_body{};
  // Exactly once, last. Required.
  std::function<void(const HttpResult& result)> on_done{};
};

// Figures for the client's own accounting.
struct HttpClientStats {
  uint64_t connections_opened = 0;
  uint64_t requests_started = 0;
  uint64_t retries_on_stale_connection = 0;
};

class HttpClient {
 public:
  HttpClient(boost::asio::io_context& io, HttpClientOptions options);
  ~HttpClient();  // closes every connection; pending handlers run with kCancelled as the io runs
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts one exchange; returns at once. The handlers run later on the io_context thread.
  void send(HttpClientRequest request, HttpResponseHandlers handlers);

  // Ends every exchange in flight (their on_done gets kCancelled) and closes pooled connections.
  void cancel_all();

  size_t in_flight() const;
  size_t idle_connections() const;
  HttpClientStats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Convenience: runs one exchange on `io` (which must not be running elsewhere) and returns the
// result and body. For small requests such as GET /v1/models.
struct SimpleResponse {
  HttpResult result;
  std::string body;
};
SimpleResponse fetch_once(boost::asio::io_context& io, const HttpClientOptions& options,
                          HttpClientRequest request);

}  // namespace tenbin::http_client
