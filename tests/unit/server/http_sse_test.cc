// Server-Sent Events over real HTTP: events posted from another thread arrive in order and end
// with [DONE]; a client that hangs up mid-stream triggers the request's cancel callback.
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "server/http/server.h"
#include "unit/server/http_test_client.h"

namespace tenbin::server::http {
namespace {
using testing::start_server;
using testing::TestClient;
using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

TEST(HttpSse, StreamsEventsFromAnotherThreadInOrder) {
  std::vector<std::thread> producers;
  std::mutex mu;
  Router router;
  router.add("POST", "/stream", [&](HttpRequest, std::shared_ptr<Responder> responder) {
    std::lock_guard lock(mu);
    producers.emplace_back([responder] {  // plays the engine thread
      responder->start_sse();
      for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(responder->send_event("{\"i\":" + std::to_string(i) + "}"));
        std::this_thread::sleep_for(2ms);
      }
      responder->finish_sse();
    });
  });
  router.get("/health", [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  auto server = start_server(std::move(router));
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());
  auto res = client.request("POST", "/stream", "{}");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[bhttp::field::content_type], "text/event-stream");
  EXPECT_TRUE(res.chunked());
  EXPECT_EQ(res.body(),
            "data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\ndata: {\"i\":3}\n\n"
            "data: {\"i\":4}\n\ndata: [DONE]\n\n");
  EXPECT_EQ(client.request("GET", "/health").body(), "ok");  // keep-alive after a stream
  std::lock_guard lock(mu);
  for (auto& t : producers) t.join();
}

TEST(HttpSse, ClientDisconnectMidStreamCancelsTheRequest) {
  std::promise<void> cancelled;
  std::promise<int> producer_stopped_after;
  std::thread producer;
  Router router;
  router.add("GET", "/forever", [&](HttpRequest, std::shared_ptr<Responder> responder) {
    responder->on_cancel([&] { cancelled.set_value(); });
    producer = std::thread([responder, &producer_stopped_after] {
      int sent = 0;
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (std::chrono::steady_clock::now() < deadline &&
             responder->send_event("token " + std::to_string(sent))) {
        ++sent;
        std::this_thread::sleep_for(5ms);
      }
      producer_stopped_after.set_value(sent);
    });
  });
  auto server = start_server(std::move(router));
  ASSERT_NE(server, nullptr);
  {
    TestClient client(server->port());
    client.send("GET", "/forever");
    bhttp::response_parser<bhttp::string_body> parser;
    bhttp::read_header(client.socket(), client.buffer(), parser);
    while (parser.get().body().find("data: token 0\n\n") == std::string::npos) {
      bhttp::read_some(client.socket(), client.buffer(), parser);
    }
  }  // the client closes its socket mid-stream
  EXPECT_EQ(cancelled.get_future().wait_for(5s), std::future_status::ready);
  auto stopped = producer_stopped_after.get_future();
  EXPECT_EQ(stopped.wait_for(5s), std::future_status::ready);
  producer.join();
  EXPECT_GE(stopped.get(), 1);
}

}  // namespace
}  // namespace tenbin::server::http
