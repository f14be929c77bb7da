// Prometheus text exposition 0.0.4: exact output for counters, gauges and histograms with
// labels, escaping, and registration errors.
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "util/prometheus/registry.h"

namespace tenbin::prometheus {
namespace {

TEST(PrometheusRegistry, CounterGaugeHistogramExactText) {
  Registry registry;
  Counter* ok = *registry.counter("tenbin_requests_total", "Finished requests by outcome.",
                                  {{"model", "m"}, {"outcome", "ok"}});
  Counter* err = *registry.counter("tenbin_requests_total", "Finished requests by outcome.",
                                   {{"outcome", "error"}, {"model", "m"}});  // any label order
  ok->inc();
  ok->inc(2);
  err->inc();
  Gauge* running = *registry.gauge("tenbin_requests_running", "Requests being decoded.");
  running->set(3);
  running->dec();
  Histogram* ttft = *registry.histogram("tenbin_time_to_first_token_seconds",
                                        "Time to first token.", {0.005, 0.1, 1}, {{"model", "m"}});
  ttft->observe(0.001);
  ttft->observe(0.1);  // le is inclusive
  ttft->observe(0.5);
  ttft->observe(30);
  EXPECT_EQ(registry.expose(),
            "# HELP tenbin_requests_total Finished requests by outcome.\n"
            "# TYPE tenbin_requests_total counter\n"
            "tenbin_requests_total{model=\"m\",outcome=\"ok\"} 3\n"
            "tenbin_requests_total{model=\"m\",outcome=\"error\"} 1\n"
            "# HELP tenbin_requests_running Requests being decoded.\n"
            "# TYPE tenbin_requests_running gauge\n"
            "tenbin_requests_running 2\n"
            "# HELP tenbin_time_to_first_token_seconds Time to first token.\n"
            "# TYPE tenbin_time_to_first_token_seconds histogram\n"
            "tenbin_time_to_first_token_seconds_bucket{model=\"m\",le=\"0.005\"} 1\n"
            "tenbin_time_to_first_token_seconds_bucket{model=\"m\",le=\"0.1\"} 2\n"
            "tenbin_time_to_first_token_seconds_bucket{model=\"m\",le=\"1\"} 3\n"
            "tenbin_time_to_first_token_seconds_bucket{model=\"m\",le=\"+Inf\"} 4\n"
            "tenbin_time_to_first_token_seconds_sum{model=\"m\"} 30.601\n"
            "tenbin_time_to_first_token_seconds_count{model=\"m\"} 4\n");
}

TEST(PrometheusRegistry, HistogramWithoutLabelsAndEmptyFamily) {
  Registry registry;
  Histogram* h = *registry.histogram("tenbin_itl_seconds", "ITL.", {0.5});
  h->observe(0.25);
  EXPECT_EQ(registry.expose(),
            "# HELP tenbin_itl_seconds ITL.\n"
            "# TYPE tenbin_itl_seconds histogram\n"
            "tenbin_itl_seconds_bucket{le=\"0.5\"} 1\n"
            "tenbin_itl_seconds_bucket{le=\"+Inf\"} 1\n"
            "tenbin_itl_seconds_sum 0.25\n"
            "tenbin_itl_seconds_count 1\n");
}

TEST(PrometheusRegistry, EscapesLabelValuesAndHelp) {
  Registry registry;
  Counter* c = *registry.counter("tenbin_x_total", "Line one\nback\\slash \"quoted\"",
                                 {{"path", "a\"b\\c\nd"}});
  c->inc();
  EXPECT_EQ(registry.expose(),
            "# HELP tenbin_x_total Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE tenbin_x_total counter\n"
            "tenbin_x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(PrometheusRegistry, SameChildIsReturnedAgain) {
  Registry registry;
  auto a = registry.gauge("tenbin_kv_cache_usage_ratio", "KV usage.", {{"model", "m"}});
  auto b = registry.gauge("tenbin_kv_cache_usage_ratio", "KV usage.", {{"model", "m"}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(PrometheusRegistry, RejectsInvalidRegistrations) {
  Registry registry;
  EXPECT_FALSE(registry.counter("tenbin_requests", "no _total").ok());
  EXPECT_FALSE(registry.gauge("vllm_running", "wrong prefix").ok());
  EXPECT_FALSE(registry.gauge("tenbin_bad-name", "dash").ok());
  EXPECT_FALSE(registry.gauge("tenbin_g", "h", {{"__reserved", "x"}}).ok());
  EXPECT_FALSE(registry.histogram("tenbin_h", "h", {1, 1}).ok());
  EXPECT_FALSE(registry.histogram("tenbin_h", "h", {}).ok());
  EXPECT_FALSE(registry.histogram("tenbin_h", "h", {1}, {{"le", "x"}}).ok());
  ASSERT_TRUE(registry.gauge("tenbin_g", "h", {{"model", "m"}}).ok());
  EXPECT_FALSE(registry.counter("tenbin_g", "h").ok());                  // type clash
  EXPECT_FALSE(registry.gauge("tenbin_g", "h", {{"other", "m"}}).ok());  // label set clash
  EXPECT_FALSE(registry.gauge("tenbin_g", "h").ok());
}

TEST(PrometheusRegistry, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  Counter* c = *registry.counter("tenbin_tokens_total", "Tokens.");
  Histogram* h = *registry.histogram("tenbin_e2e_seconds", "E2E.", default_latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->inc();
        h->observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000);
  auto s = h->snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.sum, 20000.0);
}

TEST(PrometheusRegistry, DefaultLatencyBucketsSpanMillisecondsToAMinute) {
  auto b = default_latency_buckets();
  EXPECT_EQ(b.front(), 0.001);
  EXPECT_EQ(b.back(), 60.0);
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
  EXPECT_EQ(exponential_buckets(1, 2, 3), (std::vector<double>{1, 2, 4}));
}

TEST(PrometheusRegistry, FormatsSpecialValues) {
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1e-3), "0.001");
}

}  // namespace
}  // namespace tenbin::prometheus
