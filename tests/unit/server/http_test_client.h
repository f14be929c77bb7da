// Test helper: a tiny synchronous Beast HTTP client over 127.0.0.1 and a server starter that
// binds a free port. One client per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "server/http/server.h"

namespace tenbin::server::http::testing {

namespace bhttp = boost::beast::http;
using Response = bhttp::response<bhttp::string_body>;

inline std::unique_ptr<HttpServer> start_server(Router router, HttpServerOptions options = {}) {
  options.address = "127.0.0.1";
  options.port = 0;
  auto server = HttpServer::start(std::move(options), std::move(router));
  EXPECT_TRUE(server.ok()) << server.status().message();
  return server.ok() ? std::move(*server) : nullptr;
}

class TestClient {
 public:
  explicit TestClient(uint16_t port) : socket_(io_) {
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    socket_.connect(endpoint);
  }

  void send(const std::string& method, const std::string& target, std::string body = {},
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    for (auto& [name, value] : headers) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(socket_, req);
  }

  Response read() {
    Response res;
    bhttp::read(socket_, buffer_, res);
    return res;
  }

  Response request(const std::string& method, const std::string& target, std::string body = {},
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    send(method, target, std::move(body), std::move(headers));
    return read();
  }

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  boost::beast::flat_buffer& buffer() { return buffer_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace tenbin::server::http::testing
