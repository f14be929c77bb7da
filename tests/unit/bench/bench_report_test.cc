// The report writers: JSON layout (flat for one level, {"runs": [...]} for a sweep), the HTML
// page's embedding of data, and `compare` ratios.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bench/compare.h"
#include "bench/report_html.h"
#include "bench/report_json.h"
#include "bench/report_text.h"

namespace tenbin::bench {
namespace {

RunReport sample_report(int concurrency, const std::string& model) {
  RunReport r;
  r.config.model = model;
  r.config.num_requests = 1;
  r.level.concurrency = concurrency;
  RequestRecord rec;
  rec.success = true;
  rec.ttft_s = 0.1;
  rec.itl_s = {0.01, 0.03};
  rec.e2el_s = 0.14;
  rec.output_tokens = 3;
  rec.prompt_tokens = 5;
  rec.tokens_from_usage = true;
  r.records = {rec};
  r.summary = summarize(r.records, 2.0, {}, std::nullopt);
  return r;
}

TEST(BenchReport, JsonIsFlatForOneLevelAndRunsForASweep) {
  const nlohmann::json one = result_to_json({sample_report(4, "m")});
  EXPECT_FALSE(one.contains("runs"));
  EXPECT_EQ(one["max_concurrency"], 4);
  EXPECT_EQ(one["request_rate"], "inf");
  EXPECT_EQ(one["completed"], 1);
  EXPECT_DOUBLE_EQ(one["duration"], 2.0);
  EXPECT_DOUBLE_EQ(one["output_throughput"], 1.5);
  EXPECT_NEAR(one["mean_tpot_ms"].get<double>(), 20.0, 1e-9);
  EXPECT_NEAR(one["p99_itl_ms"].get<double>(), 29.8, 1e-9);  // np.percentile([10, 30], 99)
  EXPECT_TRUE(one["request_goodput"].is_null());             // no --slo, as vLLM
  EXPECT_TRUE(one["cost_per_1k_requests_usd"].is_null());
  EXPECT_EQ(one["itls"][0].size(), 2u);
  EXPECT_EQ(one["requests"][0]["token_count_source"], "usage");
  const nlohmann::json sweep = result_to_json({sample_report(1, "m"), sample_report(8, "m")});
  ASSERT_EQ(sweep["runs"].size(), 2u);
  EXPECT_EQ(sweep["runs"][1]["max_concurrency"], 8);
}

TEST(BenchReport, HtmlEmbedsDataSafely) {
  const std::string html = render_html({sample_report(2, "evil</script><b>")});
  EXPECT_EQ(html.find("evil</script>"), std::string::npos);
  EXPECT_NE(html.find("evil<\\/script>"), std::string::npos);      // inside the JSON
  EXPECT_NE(html.find("evil&lt;/script&gt;"), std::string::npos);  // in the title
  const size_t start = html.find("id=\"bench-data\">") + 16;
  const size_t end = html.find("</script>", start);
  const nlohmann::json data = nlohmann::json::parse(html.substr(start, end - start));
  EXPECT_EQ(data["runs"][0]["model_id"], "evil</script><b>");
  EXPECT_FALSE(data["runs"][0].contains("itls"));  // per-request data lives in requests[]
}

TEST(BenchReport, CompareShowsRatios) {
  nlohmann::json a = {{"completed", 10}, {"output_throughput", 100.0}, {"mean_ttft_ms", 40.0}};
  nlohmann::json b = {{"completed", 10}, {"output_throughput", 150.0}, {"mean_ttft_ms", 10.0}};
  auto table = compare_results(a, b, "a.json", "b.json");
  ASSERT_TRUE(table.ok());
  auto row = [&](const std::string& name) {
    const size_t at = table->find(name + " ");
    return table->substr(at, table->find('\n', at) - at);
  };
  EXPECT_NE(row("output_throughput").find("1.500"), std::string::npos) << *table;
  EXPECT_NE(row("mean_ttft_ms").find("0.250"), std::string::npos) << *table;
  EXPECT_NE(row("completed").find("1.000"), std::string::npos) << *table;
}

TEST(BenchReport, TextSummaryNamesFailureClasses) {
  RunReport r = sample_report(1, "m");
  RequestRecord bad;
  bad.error_class = "timeout";
  r.records.push_back(bad);
  r.summary = summarize(r.records, 1.0, {}, 2.0);
  r.config.price_per_hour = 2.0;
  const std::string text = format_summary(r);
  EXPECT_NE(text.find("timeout:"), std::string::npos) << text;
  EXPECT_NE(text.find("Failed requests:"), std::string::npos);
  EXPECT_NE(text.find("Cost per 1K requests (USD):"), std::string::npos);
}

}  // namespace
}  // namespace tenbin::bench
