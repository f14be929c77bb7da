// Listener and lifetime of the server: the io_context, its threads, the acceptor, and the
// staged shutdown (stop accepting -> drain within the grace period -> force close -> join).
#include "server/http/server.h"

#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "server/http/internal/server_state.h"
#include "server/http/internal/session.h"

namespace tenbin::server::http {
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpServer::Impl {
  explicit Impl(std::shared_ptr<internal::ServerState> s)
      : io_context(std::make_shared<net::io_context>(std::max(1, s->options.io_threads))),
        work(net::make_work_guard(*io_context)),
        acceptor(net::make_strand(*io_context)),
        retry_timer(acceptor.get_executor()),
        state(std::move(s)) {}

  void do_accept() {
    acceptor.async_accept(net::make_strand(*io_context),
                          [this](boost::system::error_code ec, tcp::socket socket) {
                            on_accept(ec, std::move(socket));
                          });
  }

  void on_accept(boost::system::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open() || ec == net::error::operation_aborted) return;
    if (ec) {  // e.g. out of file descriptors: back off instead of spinning
      retry_timer.expires_after(std::chrono::milliseconds(50));
      retry_timer.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec && acceptor.is_open()) do_accept();
      });
      return;
    }
    if (state->stopping.load()) {
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // SSE events are small and latency-bound
    std::make_shared<internal::Session>(std::move(socket), state, io_context)->start();
    do_accept();
  }

  std::shared_ptr<net::io_context> io_context;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  std::shared_ptr<internal::ServerState> state;
  std::vector<std::thread> threads;
  std::string address;
  uint16_t port = 0;
  bool stopped = false;
};

Expected<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, Router router) {
  std::string address = options.address;
  uint16_t requested_port = options.port;
  int backlog = options.listen_backlog;
  int n_threads = std::max(1, options.io_threads);
  auto impl = std::make_unique<Impl>(
      std::make_shared<internal::ServerState>(std::move(options), std::move(router)));

  boost::system::error_code ec;
  net::ip::address ip = net::ip::make_address(address, ec);
  if (ec) return Status::Errorf("invalid bind address '{}': {}", address, ec.message());
  tcp::endpoint endpoint(ip, requested_port);
  auto fail = [&](const char* step) {
    return Status::Errorf("cannot listen on {}:{} ({} failed: {})", address, requested_port, step,
                          ec.message());
  };
  if (impl->acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec)) return fail("setsockopt");
  if (impl->acceptor.bind(endpoint, ec)) return fail("bind");
  if (impl->acceptor.listen(backlog, ec)) return fail("listen");
  tcp::endpoint bound = impl->acceptor.local_endpoint(ec);
  if (ec) return fail("getsockname");
  impl->address = address;
  impl->port = bound.port();

  Impl* raw = impl.get();
  net::post(impl->acceptor.get_executor(), [raw] { raw->do_accept(); });
  for (int i = 0; i < n_threads; ++i) {
    impl->threads.emplace_back([io_context = impl->io_context] {
      while (true) {
        try {
          io_context->run();
          return;
        } catch (const std::exception& e) {  // a handler threw: log and keep serving
          std::fprintf(stderr, "tenbin http: unhandled exception on an I/O thread: %s\n", e.what());
        }
      }
    });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  shutdown();
}

uint16_t HttpServer::port() const {
  return impl_->port;
}
const std::string& HttpServer::address() const {
  return impl_->address;
}

void HttpServer::shutdown() {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  impl.stopped = true;
  impl.state->stopping.store(true);
  net::post(impl.acceptor.get_executor(), [&impl] {
    boost::system::error_code ignored;
    impl.acceptor.close(ignored);
    impl.retry_timer.cancel();
  });
  for (auto& connection : impl.state->snapshot()) connection->begin_shutdown();
  auto now = std::chrono::steady_clock::now();
  if (!impl.state->wait_until_empty(now + impl.state->options.shutdown_grace)) {
    for (auto& connection : impl.state->snapshot()) connection->force_close();
    impl.state->wait_until_empty(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }
  impl.work.reset();
  impl.io_context->stop();
  for (std::thread& t : impl.threads) t.join();
  impl.threads.clear();
}

}  // namespace tenbin::server::http
