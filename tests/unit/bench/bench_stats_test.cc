// Statistics and summary definitions against values computed independently (numpy's
// np.percentile / np.std by hand, and vLLM's metric definitions on hand-made records).
#include <gtest/gtest.h>

#include "bench/stats.h"
#include "bench/summary.h"

namespace tenbin::bench {
namespace {

TEST(BenchStats, PercentilesInterpolateLikeNumpy) {
  // np.percentile([1, 2, 3, 4], q) for q = 0, 50, 90, 99, 100.
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 90), 3.7);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 99), 3.97);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 100), 4.0);
  // np.percentile([15, 20, 35, 40, 50], 40) == 29.0
  EXPECT_DOUBLE_EQ(percentile_sorted({15, 20, 35, 40, 50}, 40), 29.0);
  EXPECT_DOUBLE_EQ(percentile_sorted({7}, 99), 7.0);
  EXPECT_DOUBLE_EQ(percentile_sorted({}, 50), 0.0);
}

TEST(BenchStats, DescribeUsesPopulationStd) {
  // np.std([2, 4, 4, 4, 5, 5, 7, 9]) == 2.0 (ddof = 0)
  Distribution d = describe({9, 2, 4, 4, 5, 4, 5, 7});
  EXPECT_DOUBLE_EQ(d.mean, 5.0);
  EXPECT_DOUBLE_EQ(d.std, 2.0);
  EXPECT_DOUBLE_EQ(d.median, 4.5);
  EXPECT_DOUBLE_EQ(d.max, 9.0);
  EXPECT_EQ(d.count, 8u);
}

RequestRecord ok_record(double start, double ttft, std::vector<double> itl, int64_t out,
                        int64_t in) {
  RequestRecord r;
  r.start_s = start;
  r.ttft_s = ttft;
  r.itl_s = std::move(itl);
  double e2e = ttft;
  for (double g : r.itl_s) e2e += g;
  r.e2el_s = e2e;
  r.output_tokens = out;
  r.prompt_tokens = in;
  r.tokens_from_usage = true;
  r.success = true;
  return r;
}

TEST(BenchSummary, FollowsVllmDefinitions) {
  std::vector<RequestRecord> records;
  // A: ttft 0.1, gaps 0.02 0.04 -> e2e 0.16, 3 tokens, TPOT (0.16-0.1)/2 = 0.03
  records.push_back(ok_record(0.0, 0.1, {0.02, 0.04}, 3, 10));
  // B: ttft 0.3, one token: no TPOT, no ITL; e2e 0.3
  records.push_back(ok_record(0.05, 0.3, {}, 1, 20));
  // C: failed, ignored by every latency and throughput figure
  RequestRecord failed;
  failed.start_s = 0.1;
  failed.e2el_s = 0.05;
  failed.error_class = "http_503";
  failed.output_tokens = 99;
  records.push_back(failed);
  Slo slo;
  slo.ttft_ms = 200;  // A meets it, B does not
  BenchSummary s = summarize(records, 2.0, slo, 7.2);
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.failed_by_class.at("http_503"), 1);
  EXPECT_EQ(s.total_input_tokens, 30);
  EXPECT_EQ(s.total_output_tokens, 4);
  EXPECT_DOUBLE_EQ(s.request_throughput, 1.0);
  EXPECT_DOUBLE_EQ(s.output_throughput, 2.0);
  EXPECT_DOUBLE_EQ(s.total_token_throughput, 17.0);
  EXPECT_NEAR(s.ttft_ms.mean, 200.0, 1e-9);
  EXPECT_NEAR(s.ttft_ms.median, 200.0, 1e-9);
  EXPECT_EQ(s.tpot_ms.count, 1u);
  EXPECT_NEAR(s.tpot_ms.mean, 30.0, 1e-9);
  EXPECT_EQ(s.itl_ms.count, 2u);
  EXPECT_NEAR(s.itl_ms.mean, 30.0, 1e-9);
  EXPECT_NEAR(s.itl_ms.p90, 38.0, 1e-9);  // np.percentile([20, 40], 90)
  EXPECT_NEAR(s.e2el_ms.mean, 230.0, 1e-9);
  EXPECT_EQ(s.good_requests, 1);
  EXPECT_DOUBLE_EQ(s.goodput, 0.5);
  // 7.2 USD/h for 2 s = 0.004 USD; 2 requests -> 2 USD per 1K; 4 tokens -> 1000 USD per 1M.
  EXPECT_NEAR(*s.cost_per_1k_requests_usd, 2.0, 1e-9);
  EXPECT_NEAR(*s.cost_per_1m_output_tokens_usd, 1000.0, 1e-9);
  EXPECT_EQ(s.token_count_source, "usage");
  // A runs 0..0.16, B 0.05..0.35, C 0.1..0.15: three at once at t = 0.1.
  EXPECT_EQ(s.max_concurrent_requests, 3);
}

TEST(BenchSummary, EmptyRunGivesZeros) {
  BenchSummary s = summarize({}, 0.0, {}, std::nullopt);
  EXPECT_EQ(s.completed, 0);
  EXPECT_EQ(s.request_throughput, 0.0);
  EXPECT_EQ(s.ttft_ms.p99, 0.0);
  EXPECT_FALSE(s.cost_per_1k_requests_usd.has_value());
  EXPECT_EQ(s.token_count_source, "none");
}

}  // namespace
}  // namespace tenbin::bench
