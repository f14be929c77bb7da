// Test helper: a small OpenAI-compatible streaming server whose timing is known, built on the
// project's HTTP server. Each streamed request waits `ttft` before its first text chunk and
// then sends one text chunk every `itl` (on an absolute schedule, so gaps average exactly
// `itl`), then a finish chunk, optionally a usage chunk, and [DONE]. Every `fail_every`-th
// request (1-based) gets a 500 instead. Also a raw TCP peer that drops connections.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "server/http/server.h"

namespace tenbin::bench::testing {

struct FakeServerOptions {
  std::chrono::milliseconds ttft{50};
  std::chrono::milliseconds itl{20};
  int tokens = 0;  // text chunks per response; 0 = the request's max_tokens
  int fail_every = 0;
  bool usage = true;  // send the usage chunk (when the request asks for it)
};

class FakeOpenAiServer {
 public:
  explicit FakeOpenAiServer(FakeServerOptions options)
      : options_(options), work_(boost::asio::make_work_guard(timers_)) {
    timer_thread_ = std::thread([this] { timers_.run(); });
    server::http::Router router;
    auto handler = [this](server::http::HttpRequest request,
                          std::shared_ptr<server::http::Responder> responder) {
      handle(std::move(request), std::move(responder));
    };
    router.add("POST", "/v1/completions", handler);
    router.add("POST", "/v1/chat/completions", handler);
    router.get("/v1/models", [](const server::http::HttpRequest&) {
      return server::http::HttpResponse::json(
          200, R"({"object":"list","data":[{"id":"fake-model","object":"model"}]})");
    });
    server::http::HttpServerOptions http;
    http.address = "127.0.0.1";
    http.port = 0;
    http.io_threads = 1;
    http.shutdown_grace = std::chrono::milliseconds(1000);
    auto started = server::http::HttpServer::start(http, std::move(router));
    if (started.ok()) server_ = std::move(*started);
  }
  ~FakeOpenAiServer() {
    if (server_) server_->shutdown();
    work_.reset();
    timers_.stop();
    timer_thread_.join();
  }

  bool ok() const { return server_ != nullptr; }
  uint16_t port() const { return server_->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  int requests() const { return requests_.load(); }

 private:
  struct Stream {
    explicit Stream(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::shared_ptr<server::http::Responder> responder;
    std::chrono::steady_clock::time_point start;
    int tokens = 0;
    int sent = 0;
    bool chat = false;
    bool usage = false;
    int64_t prompt_tokens = 0;
  };

  void handle(server::http::HttpRequest request,
              std::shared_ptr<server::http::Responder> responder) {
    const int n = ++requests_;
    if (options_.fail_every > 0 && n % options_.fail_every == 0) {
      responder->reply(server::http::HttpResponse::json(
          500, R"({"error":{"message":"injected failure","type":"server_error"}})"));
      return;
    }
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    auto s = std::make_shared<Stream>(timers_);
    s->responder = std::move(responder);
    s->start = std::chrono::steady_clock::now();
    s->chat = request.path == "/v1/chat/completions";
    s->tokens = options_.tokens > 0 ? options_.tokens : body.value("max_tokens", 16);
    s->usage = options_.usage && body.contains("stream_options") &&
               body["stream_options"].value("include_usage", false);
    s->prompt_tokens = body.contains("prompt") ? 7 : 9;
    s->responder->start_sse();
    if (s->chat) {
      s->responder->send_event(
          R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})");
    }
    schedule(s);
  }

  void schedule(const std::shared_ptr<Stream>& s) {
    s->timer.expires_at(s->start + options_.ttft + s->sent * options_.itl);
    s->timer.async_wait([this, s](boost::system::error_code ec) {
      if (ec) return;
      const std::string token = "tok" + std::to_string(s->sent) + " ";
      nlohmann::json chunk;
      chunk["choices"] = nlohmann::json::array(
          {s->chat ? nlohmann::json{{"index", 0}, {"delta", {{"content", token}}}}
                   : nlohmann::json{{"index", 0}, {"text", token}}});
      if (!s->responder->send_event(chunk.dump())) return;
      if (++s->sent < s->tokens) return schedule(s);
      nlohmann::json finish;
      finish["choices"] = nlohmann::json::array(
          {s->chat ? nlohmann::json{{"index", 0},
                                    {"delta", nlohmann::json::object()},
                                    {"finish_reason", "length"}}
                   : nlohmann::json{{"index", 0}, {"text", ""}, {"finish_reason", "length"}}});
      s->responder->send_event(finish.dump());
      if (s->usage) {
        nlohmann::json usage;
        usage["choices"] = nlohmann::json::array();
        usage["usage"] = {{"prompt_tokens", s->prompt_tokens},
                          {"completion_tokens", s->tokens},
                          {"total_tokens", s->prompt_tokens + s->tokens}};
        s->responder->send_event(usage.dump());
      }
      s->responder->finish_sse(true);
    });
  }

  FakeServerOptions options_;
  boost::asio::io_context timers_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread timer_thread_;
  std::unique_ptr<server::http::HttpServer> server_;
  std::atomic<int> requests_{0};
};

// A TCP peer on 127.0.0.1 that reads a request's first bytes and then closes the connection,
// either at once or after sending the start of a chunked SSE response.
class DroppingServer {
 public:
  explicit DroppingServer(bool mid_stream)
      : mid_stream_(mid_stream), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~DroppingServer() {
    io_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  struct Conn {
    explicit Conn(boost::asio::io_context& io) : socket(io) {}
    boost::asio::ip::tcp::socket socket;
    std::array<char, 4096> buf{};
  };
  void accept() {
    auto c = std::make_shared<Conn>(io_);
    acceptor_.async_accept(c->socket, [this, c](boost::system::error_code ec) {
      if (ec) return;
      c->socket.async_read_some(
          boost::asio::buffer(c->buf), [this, c](boost::system::error_code, size_t) {
            if (!mid_stream_) return c->socket.close();
            auto head = std::make_shared<std::string>(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
                "chunked\r\n\r\n");
            const std::string event = "data: {\"choices\":[{\"index\":0,\"text\":\"a\"}]}\n\n";
            char size[16];
            std::snprintf(size, sizeof size, "%zx\r\n", event.size());
            *head += size + event + "\r\n";
            boost::asio::async_write(
                c->socket, boost::asio::buffer(*head),
                [c, head](boost::system::error_code, size_t) { c->socket.close(); });
          });
      accept();
    });
  }
  bool mid_stream_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace tenbin::bench::testing
