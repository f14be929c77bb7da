#include "util/http_client/http_client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <optional>
#include <unordered_map>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "util/http_client/url.h"

namespace tenbin::http_client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

struct Connection {
  explicit Connection(asio::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

class Exchange;

}  // namespace

struct HttpClient::Impl {
  Impl(asio::io_context& io_context, HttpClientOptions o)
      : io(io_context), options(std::move(o)), resolver(io_context) {}

  asio::io_context& io;
  HttpClientOptions options;
  tcp::resolver resolver;
  std::optional<std::vector<tcp::endpoint>> endpoints;  // resolved once, then reused
  std::vector<std::unique_ptr<Connection>> idle;
  std::unordered_map<uint64_t, std::weak_ptr<Exchange>> active;
  uint64_t next_id = 0;
  HttpClientStats stats;
};

namespace {

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<HttpClient::Impl> client, uint64_t id, HttpClientRequest request,
           HttpResponseHandlers handlers)
      : client_(std::move(client)),
        id_(id),
        request_(std::move(request)),
        handlers_(std::move(handlers)) {
    if (request_.timeout.count() > 0) deadline_ = Clock::now() + request_.timeout;
    wire_.method_string(request_.method);
    wire_.target(request_.target);
    wire_.version(11);
    wire_.set(http::field::host,
              HttpUrl{client_->options.host, client_->options.port, ""}.host_header());
    wire_.set(http::field::user_agent, "tenbin");
    wire_.set(http::field::accept, "*/*");
    for (const auto& [name, value] : request_.headers) wire_.set(name, value);
    if (!request_.body.empty() || request_.method == "POST") {
      wire_.set(http::field::content_type, request_.content_type);
      wire_.body() = request_.body;
    }
    wire_.keep_alive(true);
    wire_.prepare_payload();
  }

  void start() {
    ++client_->stats.requests_started;
    if (!client_->idle.empty()) {
      conn_ = std::move(client_->idle.back());
      client_->idle.pop_back();
      reused_ = true;
      write();
      return;
    }
    open_connection();
  }

  void cancel() {
    if (done_) return;
    cancelled_ = true;
    if (conn_) {
      error_code ignored;
      conn_->stream.socket().close(ignored);
    }
  }

 private:
  void open_connection() {
    conn_ = std::make_unique<Connection>(client_->io);
    reused_ = false;
    ++client_->stats.connections_opened;
    if (client_->endpoints) {
      connect();
      return;
    }
    auto self = shared_from_this();
    client_->resolver.async_resolve(
        client_->options.host, std::to_string(client_->options.port),
        [self](error_code ec, tcp::resolver::results_type results) {
          if (self->cancelled_) return self->finish(HttpErrorKind::kCancelled, "cancelled");
          if (ec) {
            return self->finish(
                HttpErrorKind::kConnect,
                "cannot resolve " + self->client_->options.host + ": " + ec.message());
          }
          if (!self->client_->endpoints) {
            std::vector<tcp::endpoint> list;
            for (const auto& entry : results) list.push_back(entry.endpoint());
            self->client_->endpoints = std::move(list);
          }
          self->connect();
        });
  }

  void connect() {
    Clock::time_point limit = Clock::now() + client_->options.connect_timeout;
    if (deadline_) limit = std::min(limit, *deadline_);
    conn_->stream.expires_at(limit);
    auto self = shared_from_this();
    conn_->stream.async_connect(*client_->endpoints, [self](error_code ec, const tcp::endpoint&) {
      if (ec) return self->fail(ec, /*connecting=*/true);
      self->write();
    });
  }

  void arm_deadline() {
    if (deadline_) {
      conn_->stream.expires_at(*deadline_);
    } else {
      conn_->stream.expires_never();
    }
  }

  void write() {
    if (cancelled_) return finish(HttpErrorKind::kCancelled, "cancelled");
    arm_deadline();
    auto self = shared_from_this();
    http::async_write(conn_->stream, wire_, [self](error_code ec, size_t) {
      if (ec) return self->fail(ec, false);
      self->read_header();
    });
  }

  void read_header() {
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    auto self = shared_from_this();
    http::async_read_header(conn_->stream, conn_->buffer, *parser_, [self](error_code ec, size_t) {
      if (ec) return self->fail(ec, false);
      self->response_started_ = true;
      self->status_ = static_cast<int>(self->parser_->get().result_int());
      if (self->handlers_.on_headers) {
        std::vector<std::pair<std::string, std::string>> headers;
        for (const auto& field : self->parser_->get()) {
          std::string name(field.name_string());
          std::transform(name.begin(), name.end(), name.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          headers.emplace_back(std::move(name), std::string(field.value()));
        }
        self->handlers_.on_headers(self->status_, headers);
      }
      self->read_body();
    });
  }

  void read_body() {
    if (cancelled_) return finish(HttpErrorKind::kCancelled, "cancelled");
    if (parser_->is_done()) return complete();
    parser_->get().body().data = body_.data();
    parser_->get().body().size = body_.size();
    arm_deadline();
    auto self = shared_from_this();
    http::async_read_some(conn_->stream, conn_->buffer, *parser_, [self](error_code ec, size_t) {
      if (ec == http::error::need_buffer) ec = {};
      const size_t got = self->body_.size() - self->parser_->get().body().size;
      if (got > 0 && self->handlers_.on_body && !self->cancelled_) {
        self->handlers_.on_body(std::string_view(self->body_.data(), got));
      }
      if (ec) return self->fail(ec, false);
      self->read_body();
    });
  }

  void complete() {
    const bool reusable = parser_->keep_alive() && conn_->buffer.size() == 0;
    if (reusable && client_->idle.size() < client_->options.max_idle_connections) {
      conn_->stream.expires_never();
      client_->idle.push_back(std::move(conn_));
    }
    finish(HttpErrorKind::kNone, "");
  }

  static bool closed_by_peer(const error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == http::error::end_of_stream;
  }

  void fail(const error_code& ec, bool connecting) {
    if (cancelled_) return finish(HttpErrorKind::kCancelled, "cancelled");
    if (reused_ && !retried_ && !response_started_ && closed_by_peer(ec)) {
      // The server closed the pooled connection while it sat idle: one fresh attempt.
      retried_ = true;
      ++client_->stats.retries_on_stale_connection;
      return open_connection();
    }
    const bool deadline_passed = deadline_ && Clock::now() >= *deadline_;
    if (ec == beast::error::timeout) {
      if (connecting && !deadline_passed) {
        return finish(HttpErrorKind::kConnect, "connect timed out");
      }
      return finish(HttpErrorKind::kTimeout, "no complete response within " +
                                                 std::to_string(request_.timeout.count()) + " ms");
    }
    if (connecting) return finish(HttpErrorKind::kConnect, "cannot connect: " + ec.message());
    if (ec.category() == error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return finish(HttpErrorKind::kProtocol, "bad HTTP response: " + ec.message());
    }
    finish(HttpErrorKind::kConnection,
           std::string(response_started_ ? "connection lost mid-response: "
                                         : "connection closed before a response: ") +
               ec.message());
  }

  void finish(HttpErrorKind kind, std::string message) {
    if (done_) return;
    done_ = true;
    if (kind != HttpErrorKind::kNone && conn_) {
      error_code ignored;
      conn_->stream.socket().close(ignored);
    }
    conn_.reset();
    client_->active.erase(id_);
    HttpResult result;
    result.error = kind;
    result.status = status_;
    result.message = std::move(message);
    auto on_done = std::move(handlers_.on_done);
    handlers_ = {};
    if (on_done) on_done(result);
  }

  std::shared_ptr<HttpClient::Impl> client_;
  uint64_t id_;
  HttpClientRequest request_;
  HttpResponseHandlers handlers_;
  http::request<http::string_body> wire_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, 8192> body_{};
  std::unique_ptr<Connection> conn_;
  std::optional<Clock::time_point> deadline_;
  int status_ = 0;
  bool reused_ = false;
  bool retried_ = false;
  bool response_started_ = false;
  bool cancelled_ = false;
  bool done_ = false;
};

}  // namespace

std::string_view error_kind_name(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kNone:
      return "none";
    case HttpErrorKind::kConnect:
      return "connect";
    case HttpErrorKind::kTimeout:
      return "timeout";
    case HttpErrorKind::kConnection:
      return "connection";
    case HttpErrorKind::kProtocol:
      return "protocol";
    case HttpErrorKind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

HttpClient::HttpClient(asio::io_context& io, HttpClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

HttpClient::~HttpClient() {
  cancel_all();
}

void HttpClient::send(HttpClientRequest request, HttpResponseHandlers handlers) {
  const uint64_t id = impl_->next_id++;
  auto exchange = std::make_shared<Exchange>(impl_, id, std::move(request), std::move(handlers));
  impl_->active.emplace(id, exchange);
  exchange->start();
}

void HttpClient::cancel_all() {
  std::vector<std::shared_ptr<Exchange>> live;
  for (auto& [id, weak] : impl_->active) {
    if (auto e = weak.lock()) live.push_back(std::move(e));
  }
  for (auto& e : live) e->cancel();
  impl_->resolver.cancel();
  impl_->idle.clear();
}

size_t HttpClient::in_flight() const {
  return impl_->active.size();
}
size_t HttpClient::idle_connections() const {
  return impl_->idle.size();
}
HttpClientStats HttpClient::stats() const {
  return impl_->stats;
}

SimpleResponse fetch_once(asio::io_context& io, const HttpClientOptions& options,
                          HttpClientRequest request) {
  SimpleResponse out;
  {
    HttpClient client(io, options);
    HttpResponseHandlers handlers;
    handlers.on_body = [&out](std::string_view bytes) { out.body.append(bytes); };
    handlers.on_done = [&out](const HttpResult& result) { out.result = result; };
    client.send(std::move(request), std::move(handlers));
    io.restart();
    io.run();
  }
  io.restart();
  io.run();  // lets closing sockets settle
  return out;
}

}  // namespace tenbin::http_client
