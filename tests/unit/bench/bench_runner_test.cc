// The benchmark runner against a fake OpenAI server with known delays: the measured TTFT,
// ITL, TPOT, E2E latency and throughput must match what the server injects; failures,
// dropped connections and timeouts must be counted by class, never crash the run.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "bench/arrivals.h"
#include "bench/dataset.h"
#include "bench/runner.h"
#include "bench/summary.h"
#include "unit/bench/fake_openai_server.h"

namespace tenbin::bench {
namespace {

using testing::DroppingServer;
using testing::FakeOpenAiServer;
using testing::FakeServerOptions;

BenchConfig config_for(const std::string& url, int64_t requests, int64_t output_len) {
  BenchConfig c;
  c.url = url;
  c.model = "fake-model";
  c.num_requests = requests;
  c.dataset.input_len = 8;
  c.dataset.output_len = output_len;
  c.request_timeout_s = 20;
  return c;
}

struct Outcome {
  RunResult result;
  BenchSummary summary;
};

Outcome run(const BenchConfig& c, LoadLevel level) {
  auto prompts = load_dataset(c.dataset, c.num_requests + c.warmup, c.seed);
  EXPECT_TRUE(prompts.ok());
  auto result = run_level(c, level, *prompts, {});
  EXPECT_TRUE(result.ok()) << result.status().message();
  Outcome o{std::move(*result), {}};
  o.summary = summarize(o.result.records, o.result.duration_s, c.slo, c.price_per_hour);
  return o;
}

TEST(BenchRunner, ClosedLoopTimingsMatchInjectedDelays) {
  // 50 ms to the first token, then 20 ms per token, 10 tokens: E2E = 50 + 9 * 20 = 230 ms.
  FakeOpenAiServer server(
      {.ttft = std::chrono::milliseconds(50), .itl = std::chrono::milliseconds(20), .tokens = 10});
  ASSERT_TRUE(server.ok());
  BenchConfig c = config_for(server.url(), 16, 10);
  c.price_per_hour = 3.6;  // 0.001 USD per second
  Outcome o = run(c, {.concurrency = 4});
  const BenchSummary& s = o.summary;
  ASSERT_EQ(s.completed, 16);
  EXPECT_EQ(s.failed, 0);
  EXPECT_EQ(s.total_output_tokens, 160);
  EXPECT_EQ(s.total_input_tokens, 16 * 7);  // the fake server's usage.prompt_tokens
  EXPECT_EQ(s.token_count_source, "usage");
  EXPECT_EQ(s.max_concurrent_requests, 4);
  // Delays only ever grow under load, so the bounds are tight below and looser above.
  EXPECT_GE(s.ttft_ms.mean, 49.0);
  EXPECT_LE(s.ttft_ms.mean, 65.0);
  EXPECT_GE(s.itl_ms.mean, 19.0);
  EXPECT_LE(s.itl_ms.mean, 22.0);
  EXPECT_NEAR(s.itl_ms.median, 20.0, 2.0);
  EXPECT_EQ(s.itl_ms.count, 16u * 9u);
  EXPECT_GE(s.tpot_ms.mean, 19.0);
  EXPECT_LE(s.tpot_ms.mean, 22.0);
  EXPECT_GE(s.e2el_ms.mean, 229.0);
  EXPECT_LE(s.e2el_ms.mean, 260.0);
  // 16 requests, 4 at a time, back to back: 4 rounds of ~230 ms.
  EXPECT_GE(s.duration_s, 0.92);
  EXPECT_LE(s.duration_s, 1.10);
  EXPECT_NEAR(s.output_throughput, 160.0 / 0.92, 160.0 / 0.92 * 0.15);
  EXPECT_NEAR(s.request_throughput, 16.0 / 0.92, 16.0 / 0.92 * 0.15);
  ASSERT_TRUE(s.cost_per_1k_requests_usd.has_value());
  EXPECT_NEAR(*s.cost_per_1k_requests_usd, 0.001 * s.duration_s / 16 * 1000, 1e-9);
  // Each request's own figures agree with its record.
  for (const RequestRecord& r : o.result.records) {
    EXPECT_TRUE(r.success) << r.error;
    EXPECT_EQ(r.output_tokens, 10);
    EXPECT_EQ(r.itl_s.size(), 9u);
    EXPECT_NEAR(r.ttft_s + std::accumulate(r.itl_s.begin(), r.itl_s.end(), 0.0), r.e2el_s, 0.01);
  }
}

TEST(BenchRunner, ChatStreamWithoutUsageCountsTextChunks) {
  // The role chunk (empty content) must not count as the first token.
  FakeOpenAiServer server({.ttft = std::chrono::milliseconds(40),
                           .itl = std::chrono::milliseconds(10),
                           .tokens = 6,
                           .usage = false});
  ASSERT_TRUE(server.ok());
  BenchConfig c = config_for(server.url(), 6, 6);
  c.endpoint = Endpoint::kChat;
  Outcome o = run(c, {.concurrency = 3});
  EXPECT_EQ(o.summary.completed, 6);
  EXPECT_EQ(o.summary.token_count_source, "stream");
  EXPECT_EQ(o.summary.total_output_tokens, 36);
  EXPECT_GE(o.summary.ttft_ms.median, 39.0);
  EXPECT_LE(o.summary.ttft_ms.median, 55.0);
  EXPECT_EQ(o.summary.total_input_tokens, 6 * 8);  // no usage: the dataset's estimate
}

TEST(BenchRunner, CountsHttpFailuresByClass) {
  // Every 4th request answers 500: 5 of 20 fail.
  FakeOpenAiServer server({.ttft = std::chrono::milliseconds(5),
                           .itl = std::chrono::milliseconds(2),
                           .tokens = 4,
                           .fail_every = 4});
  ASSERT_TRUE(server.ok());
  BenchConfig c = config_for(server.url(), 20, 4);
  c.slo.ttft_ms = 1000;
  Outcome o = run(c, {.concurrency = 1});
  EXPECT_EQ(o.summary.completed, 15);
  EXPECT_EQ(o.summary.failed, 5);
  ASSERT_EQ(o.summary.failed_by_class.size(), 1u);
  EXPECT_EQ(o.summary.failed_by_class.at("http_500"), 5);
  EXPECT_EQ(o.summary.good_requests, 15);
  EXPECT_EQ(o.summary.total_output_tokens, 60);
  int failed_seen = 0;
  for (const RequestRecord& r : o.result.records) {
    if (!r.success) {
      ++failed_seen;
      EXPECT_EQ(r.error, "injected failure");
      EXPECT_EQ(r.index % 4, 3);  // sequential (concurrency 1): requests 4, 8, ... fail
    }
  }
  EXPECT_EQ(failed_seen, 5);
}

TEST(BenchRunner, SloDecidesGoodput) {
  FakeOpenAiServer server(
      {.ttft = std::chrono::milliseconds(30), .itl = std::chrono::milliseconds(5), .tokens = 3});
  ASSERT_TRUE(server.ok());
  BenchConfig c = config_for(server.url(), 4, 3);
  c.slo.ttft_ms = 10;  // no request can meet it
  Outcome o = run(c, {.concurrency = 2});
  EXPECT_EQ(o.summary.completed, 4);
  EXPECT_EQ(o.summary.good_requests, 0);
  EXPECT_EQ(o.summary.goodput, 0.0);
}

TEST(BenchRunner, DroppedConnectionsAreCountedNotFatal) {
  for (bool mid_stream : {false, true}) {
    DroppingServer server(mid_stream);
    BenchConfig c = config_for(server.url(), 6, 4);
    Outcome o = run(c, {.concurrency = 2});
    EXPECT_EQ(o.summary.completed, 0);
    EXPECT_EQ(o.summary.failed, 6);
    EXPECT_EQ(o.summary.failed_by_class["connection"], 6) << "mid_stream " << mid_stream;
  }
}

TEST(BenchRunner, RefusedConnectionsAndTimeoutsAreClassified) {
  {
    // A port nobody listens on: bind one, note it, close it.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const uint16_t port = a.local_endpoint().port();
    a.close();
    BenchConfig c = config_for("http://127.0.0.1:" + std::to_string(port), 3, 4);
    Outcome o = run(c, {.concurrency = 3});
    EXPECT_EQ(o.summary.failed_by_class["connect"], 3);
  }
  FakeOpenAiServer slow(
      {.ttft = std::chrono::milliseconds(2000), .itl = std::chrono::milliseconds(10), .tokens = 2});
  ASSERT_TRUE(slow.ok());
  BenchConfig c = config_for(slow.url(), 2, 2);
  c.request_timeout_s = 0.2;
  const auto t0 = std::chrono::steady_clock::now();
  Outcome o = run(c, {.concurrency = 2});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  EXPECT_EQ(o.summary.failed_by_class["timeout"], 2);
}

TEST(BenchRunner, OpenLoopPacesArrivals) {
  // 40 requests at 40 req/s (Poisson): the last starts after ~1 s (the sum of 39 gaps with
  // mean 25 ms); each takes ~15 ms, so concurrency stays low.
  FakeOpenAiServer server(
      {.ttft = std::chrono::milliseconds(10), .itl = std::chrono::milliseconds(1), .tokens = 4});
  ASSERT_TRUE(server.ok());
  BenchConfig c = config_for(server.url(), 40, 4);
  c.seed = 7;
  Outcome o = run(c, {.concurrency = 0, .rate = 40.0});
  ASSERT_EQ(o.summary.completed, 40);
  // The schedule is deterministic for a seed: compare with the generator itself.
  ArrivalGaps gaps(40.0, 1.0, 7);
  double last_start = 0;
  for (int i = 0; i < 39; ++i) last_start += gaps.next_s();
  EXPECT_NEAR(o.result.records.back().start_s, last_start, 0.03);
  EXPECT_GT(last_start, 0.5);
  EXPECT_LT(o.summary.max_concurrent_requests, 10);
}

TEST(BenchRunner, WarmupRequestsAreNotRecorded) {
  FakeOpenAiServer server(
      {.ttft = std::chrono::milliseconds(2), .itl = std::chrono::milliseconds(1), .tokens = 2});
  ASSERT_TRUE(server.ok());
  BenchConfig c = config_for(server.url(), 5, 2);
  c.warmup = 3;
  Outcome o = run(c, {.concurrency = 2});
  EXPECT_EQ(server.requests(), 8);
  EXPECT_EQ(o.result.records.size(), 5u);
  EXPECT_EQ(o.summary.completed, 5);
}

TEST(BenchRunner, DurationStopsNewRequests) {
  FakeOpenAiServer server(
      {.ttft = std::chrono::milliseconds(50), .itl = std::chrono::milliseconds(10), .tokens = 2});
  ASSERT_TRUE(server.ok());
  BenchConfig c = config_for(server.url(), 1000, 2);
  c.duration_s = 0.5;
  Outcome o = run(c, {.concurrency = 2});
  // ~60 ms per request, 2 at a time, for 0.5 s: about 16 requests, far from 1000.
  EXPECT_GE(o.summary.completed, 8);
  EXPECT_LE(o.summary.completed, 20);
  EXPECT_EQ(o.summary.failed, 0);
}

}  // namespace
}  // namespace tenbin::bench
