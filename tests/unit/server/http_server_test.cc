// Real HTTP over 127.0.0.1: routing, keep-alive, error shapes, body limit, concurrency and
// graceful shutdown of the Beast server.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/http/server.h"
#include "server/openai/errors.h"
#include "unit/server/http_test_client.h"

namespace tenbin::server::http {
namespace {
using testing::start_server;
using testing::TestClient;
using namespace std::chrono_literals;

Router echo_router() {
  Router router;
  router.get("/health", [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  router.get("/whoami", [](const HttpRequest& r) { return HttpResponse::text(200, r.remote); });
  router.add_simple("POST", "/echo", [](const HttpRequest& r) {
    return HttpResponse::text(200, r.body + "|" + std::string(r.header("X-Tag")) + "|" + r.query);
  });
  return router;
}

nlohmann::json error_of(const testing::Response& res) {
  EXPECT_EQ(res[boost::beast::http::field::content_type], "application/json");
  auto j = nlohmann::json::parse(res.body());
  EXPECT_TRUE(j.contains("error"));
  for (const char* key : {"message", "type", "param", "code"}) {
    EXPECT_TRUE(j["error"].contains(key)) << key;
  }
  return j["error"];
}

TEST(HttpServer, GetRouteWorks) {
  auto server = start_server(echo_router());
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  TestClient client(server->port());
  auto res = client.request("GET", "/health");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "ok");
}

TEST(HttpServer, KeepAliveServesTwoRequestsOnOneConnection) {
  auto server = start_server(echo_router());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  auto first = client.request("GET", "/whoami");
  auto second = client.request("POST", "/echo?x=1", "hello", {{"X-Tag", "t"}});
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_TRUE(first.keep_alive());
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_EQ(second.body(), "hello|t|x=1");
  auto third = client.request("GET", "/whoami");
  EXPECT_EQ(first.body(), third.body());  // same client port: the same connection
}

TEST(HttpServer, UnknownRouteIs404Json) {
  auto server = start_server(echo_router());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  auto res = client.request("GET", "/v1/nope");
  EXPECT_EQ(res.result_int(), 404);
  auto error = error_of(res);
  EXPECT_EQ(error["type"], "invalid_request_error");
  EXPECT_EQ(error["code"], "not_found");
  EXPECT_TRUE(error["param"].is_null());
  EXPECT_NE(error["message"].get<std::string>().find("/v1/nope"), std::string::npos);
  // The connection stays usable after an error reply.
  EXPECT_EQ(client.request("GET", "/health").result_int(), 200);
}

TEST(HttpServer, WrongMethodIs405JsonWithAllow) {
  auto server = start_server(echo_router());
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  auto res = client.request("DELETE", "/health");
  EXPECT_EQ(res.result_int(), 405);
  EXPECT_EQ(res[boost::beast::http::field::allow], "GET");
  EXPECT_EQ(error_of(res)["code"], "method_not_allowed");
}

TEST(HttpServer, OversizeBodyIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = start_server(echo_router(), options);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  auto res = client.request("POST", "/echo", std::string(64 * 1024, 'x'));
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(error_of(res)["type"], "invalid_request_error");
  // A body at the limit is fine.
  TestClient again(server->port());
  EXPECT_EQ(again.request("POST", "/echo", std::string(1024, 'y')).result_int(), 200);
}

TEST(HttpServer, SilentConnectionIsClosedAfterHeaderTimeout) {
  HttpServerOptions options;
  options.header_timeout = 200ms;
  auto server = start_server(echo_router(), options);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  auto t0 = std::chrono::steady_clock::now();
  char byte;
  boost::system::error_code ec;
  client.socket().read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset)
      << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(HttpServer, HandlerThatThrowsGets500) {
  Router router;
  router.get("/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("x"); });
  auto server = start_server(std::move(router));
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  auto res = client.request("GET", "/boom");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(error_of(res)["type"], "server_error");
}

TEST(HttpServer, TwoHundredConcurrentConnectionsEachGetTheirReply) {
  constexpr int kClients = 200;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::shared_ptr<Responder>>> pending;
  Router router;
  // Replies only once every client is waiting, from another thread: all 200 are in flight.
  router.add("GET", "/id", [&](HttpRequest request, std::shared_ptr<Responder> responder) {
    std::lock_guard lock(mu);
    pending.emplace_back(request.query, std::move(responder));
    cv.notify_all();
  });
  HttpServerOptions options;
  options.io_threads = 2;
  auto server = start_server(std::move(router), options);
  ASSERT_NE(server, nullptr);
  std::thread replier([&] {
    std::unique_lock lock(mu);
    cv.wait_for(lock, 20s, [&] { return pending.size() == kClients; });
    for (auto& [id, responder] : pending) responder->reply(HttpResponse::text(200, id));
    pending.clear();
  });
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TestClient>(server->port()));
    clients.back()->send("GET", "/id?" + std::to_string(i));
  }
  for (int i = 0; i < kClients; ++i) {
    auto res = clients[i]->read();
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), std::to_string(i));
  }
  replier.join();
}

TEST(HttpServer, GracefulShutdownFinishesInFlightRequest) {
  std::promise<void> started;
  std::vector<std::thread> workers;
  Router router;
  router.add("GET", "/slow", [&](HttpRequest, std::shared_ptr<Responder> responder) {
    workers.emplace_back([responder] {
      std::this_thread::sleep_for(300ms);
      responder->reply(HttpResponse::text(200, "done"));
    });
    started.set_value();
  });
  router.get("/health", [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  HttpServerOptions options;
  options.shutdown_grace = 5s;
  auto server = start_server(std::move(router), options);
  ASSERT_NE(server, nullptr);
  uint16_t port = server->port();
  TestClient idle(port);  // an idle keep-alive connection must not hold up shutdown
  EXPECT_EQ(idle.request("GET", "/health").result_int(), 200);
  TestClient client(port);
  client.send("GET", "/slow");
  started.get_future().wait();
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { server->shutdown(); });
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "done");
  EXPECT_FALSE(res.keep_alive());
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 4s);  // did not wait for the grace period
  for (auto& w : workers) w.join();
  EXPECT_THROW(TestClient{port}, boost::system::system_error);  // no longer accepting
}

TEST(HttpServer, ShutdownClosesStuckRequestsAfterGraceAndCancelsThem) {
  std::promise<void> cancelled;
  std::promise<std::shared_ptr<Responder>> handed_over;
  Router router;
  router.add("GET", "/stuck", [&](HttpRequest, std::shared_ptr<Responder> responder) {
    responder->on_cancel([&] { cancelled.set_value(); });
    handed_over.set_value(std::move(responder));
  });
  HttpServerOptions options;
  options.shutdown_grace = 200ms;
  auto server = start_server(std::move(router), options);
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  client.send("GET", "/stuck");
  std::shared_ptr<Responder> held = handed_over.get_future().get();
  server->shutdown();
  EXPECT_EQ(cancelled.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(held->cancelled());
  held->reply(HttpResponse::text(200, "late"));  // dropped safely after shutdown
  held.reset();
}

TEST(HttpServer, BindFailureIsReported) {
  auto first = start_server(echo_router());
  ASSERT_NE(first, nullptr);
  HttpServerOptions options;
  options.port = first->port();
  auto second = HttpServer::start(options, echo_router());
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace tenbin::server::http
