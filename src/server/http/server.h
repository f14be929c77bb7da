// The HTTP/1.1 server behind `tenbin serve`: Boost.Beast on N I/O threads sharing one
// io_context, keep-alive, body/header limits, read timeouts, SSE streaming and a graceful
// shutdown. Beast stays out of this header (pimpl), so including it is cheap. start() and
// shutdown() are called from one owner thread; the server runs on its own threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/http/router.h"
#include "util/status.h"

namespace tenbin::server::http {

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; see HttpServer::port()
  int io_threads = 2;
  size_t max_body_bytes = 8u << 20;     // larger bodies get 413
  size_t max_header_bytes = 64u << 10;  // larger header blocks get 431
  // From the moment a connection waits for a request (including keep-alive idle time) until
  // its headers are complete; then the body must arrive within body_timeout.
  std::chrono::milliseconds header_timeout{60'000};
  std::chrono::milliseconds body_timeout{60'000};
  // shutdown(): how long in-flight requests and streams may run before connections are closed.
  std::chrono::milliseconds shutdown_grace{10'000};
  int listen_backlog = 1024;
};

class HttpServer {
 public:
  // Binds, listens and starts the I/O threads. Fails when the address cannot be bound.
  static Expected<std::unique_ptr<HttpServer>> start(HttpServerOptions options, Router router);
  ~HttpServer();  // shutdown() if not yet done
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;  // the bound port (useful with port 0)
  const std::string& address() const;

  // Stops accepting, closes idle connections, lets in-flight requests finish within
  // shutdown_grace, then closes the rest (their cancel callbacks fire) and joins the threads.
  // Blocking and idempotent. Never call it from a handler (an I/O thread).
  void shutdown();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenbin::server::http
