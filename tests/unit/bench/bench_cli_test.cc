// `tenbin bench` end to end: against the real `tenbin serve` (stories260K), against the fake
// server with known failures, Ctrl-C, the JSON file (vLLM field names, sweep layout), the
// HTML file, and `bench compare`.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "unit/bench/child_process.h"
#include "unit/bench/fake_openai_server.h"
#include "unit/test_util.h"

namespace tenbin::bench {
namespace {

using testing::ChildProcess;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class BenchAgainstServe : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string model = test::shared_path("models/stories260K.gguf");
    if (!std::ifstream(model)) GTEST_SKIP() << "missing " << model;
    server_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "serve", "-m", model, "--host", "127.0.0.1", "--port", "0", "--threads", "2",
        "--kv-cache-gib", "0.05", "--served-model-name", "stories"});
    auto url = server_->wait_for_url("ready: ", std::chrono::seconds(60));
    ASSERT_TRUE(url) << server_->err();
    url_ = *url;
  }
  void TearDown() override {
    if (server_) {
      server_->signal(SIGTERM);
      server_->wait(std::chrono::seconds(20));
    }
  }
  std::unique_ptr<ChildProcess> server_;
  std::string url_;
};

TEST_F(BenchAgainstServe, ConcurrencySweepWritesVllmStyleJsonAndHtml) {
  test::TempDir dir;
  const std::string json = dir.file("sweep.json"), html = dir.file("sweep.html");
  auto r = test::run_tenbin("bench --url " + url_ +
                                " --num-requests 8 --concurrency 1,4 --input-len 16 --output-len "
                                "12 --range-ratio 0.25 --price-per-hour 1.0 --slo ttft=30s "
                                "--warmup 2 --no-progress --json " +
                                json + " --html " + html,
                            false);
  ASSERT_EQ(r.exit_code, 0) << r.output << r.error;
  EXPECT_NE(r.output.find("Serving Benchmark Result"), std::string::npos);
  EXPECT_NE(r.output.find("concurrency 4"), std::string::npos);
  const nlohmann::json j = read_json(json);
  ASSERT_TRUE(j.contains("runs")) << j.dump().substr(0, 500);
  ASSERT_EQ(j["runs"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& run = j["runs"][i];
    EXPECT_EQ(run["max_concurrency"], i == 0 ? 1 : 4);
    EXPECT_EQ(run["request_rate"], "inf");
    EXPECT_EQ(run["model_id"], "stories");  // found through GET /v1/models
    EXPECT_EQ(run["endpoint"], "completions");
    EXPECT_EQ(run["completed"], 8);
    EXPECT_EQ(run["failed"], 0);
    EXPECT_EQ(run["num_prompts"], 8);
    EXPECT_EQ(run["token_count_source"], "usage");
    // ignore_eos + max_tokens: every request produced exactly what it asked for.
    int64_t requested = 0;
    for (const auto& rec : run["requests"]) {
      requested += rec["requested_output_tokens"].get<int64_t>();
      EXPECT_EQ(rec["output_tokens"], rec["requested_output_tokens"]);
      EXPECT_EQ(rec["itl_s"].size() + 1, rec["output_tokens"].get<size_t>())
          << "one chunk per token from tenbin serve";
    }
    EXPECT_EQ(run["total_output_tokens"], requested);
    EXPECT_EQ(run["output_lens"].size(), 8u);
    EXPECT_EQ(run["ttfts"].size(), 8u);
    EXPECT_EQ(run["itls"].size(), 8u);
    for (const char* key : {"duration",
                            "request_throughput",
                            "output_throughput",
                            "total_token_throughput",
                            "mean_ttft_ms",
                            "median_ttft_ms",
                            "std_ttft_ms",
                            "p90_ttft_ms",
                            "p99_ttft_ms",
                            "mean_tpot_ms",
                            "median_tpot_ms",
                            "p99_tpot_ms",
                            "mean_itl_ms",
                            "p99_itl_ms",
                            "mean_e2el_ms",
                            "p99_e2el_ms",
                            "goodput",
                            "cost_per_1k_requests_usd",
                            "cost_per_1m_output_tokens_usd",
                            "total_input_tokens",
                            "burstiness"}) {
      EXPECT_TRUE(run.contains(key) && run[key].is_number()) << key;
    }
    EXPECT_GT(run["mean_ttft_ms"].get<double>(), 0.0);
    EXPECT_LE(run["mean_ttft_ms"].get<double>(), run["mean_e2el_ms"].get<double>());
    EXPECT_NEAR(run["request_throughput"].get<double>(), 8.0 / run["duration"].get<double>(), 1e-9);
    EXPECT_EQ(run["goodput"], run["request_throughput"]);  // 30 s TTFT: all are good
  }
  const std::string page = read_text(html);
  EXPECT_NE(page.find("id=\"bench-data\""), std::string::npos);
  EXPECT_EQ(page.find("<script src"), std::string::npos);  // self-contained
  EXPECT_EQ(page.find("<link"), std::string::npos);

  // compare: a file against itself gives ratio 1 everywhere.
  auto cmp = test::run_tenbin("bench compare " + json + " " + json, false);
  ASSERT_EQ(cmp.exit_code, 0) << cmp.output << cmp.error;
  EXPECT_NE(cmp.output.find("level 2 of 2"), std::string::npos);
  EXPECT_NE(cmp.output.find("output_throughput"), std::string::npos);
  EXPECT_NE(cmp.output.find("1.000"), std::string::npos);
}

TEST_F(BenchAgainstServe, ChatEndpointOpenLoop) {
  test::TempDir dir;
  const std::string json = dir.file("chat.json");
  auto r = test::run_tenbin("bench --url " + url_ +
                                " --model stories --endpoint chat --rate 20 --num-requests 6 "
                                "--input-len 8 --output-len 8 --no-progress --json " +
                                json,
                            false);
  ASSERT_EQ(r.exit_code, 0) << r.output << r.error;
  const nlohmann::json j = read_json(json);
  ASSERT_FALSE(j.contains("runs"));  // one level: a flat object
  EXPECT_EQ(j["endpoint"], "chat");
  EXPECT_EQ(j["completed"], 6);
  EXPECT_EQ(j["total_output_tokens"], 48);
  EXPECT_EQ(j["request_rate"], 20.0);
  EXPECT_TRUE(j["max_concurrency"].is_null());
}

TEST(BenchCli, CountsInjectedFailures) {
  testing::FakeOpenAiServer server({.ttft = std::chrono::milliseconds(5),
                                    .itl = std::chrono::milliseconds(2),
                                    .tokens = 3,
                                    .fail_every = 4});
  ASSERT_TRUE(server.ok());
  test::TempDir dir;
  const std::string json = dir.file("r.json");
  auto r = test::run_tenbin("bench --url " + server.url() +
                                "/v1 --num-requests 12 --concurrency 1 --input-len 4 --no-progress "
                                "--json " +
                                json,
                            false);
  ASSERT_EQ(r.exit_code, 0) << r.output << r.error;
  EXPECT_NE(r.output.find("http_500:"), std::string::npos) << r.output;
  const nlohmann::json j = read_json(json);
  EXPECT_EQ(j["model_id"], "fake-model");
  EXPECT_EQ(j["completed"], 9);
  EXPECT_EQ(j["failed"], 3);
  EXPECT_EQ(j["failed_by_class"]["http_500"], 3);
  EXPECT_EQ(j["errors"][3], "http_500: injected failure");
}

TEST(BenchCli, CtrlCPrintsThePartialSummary) {
  // Each request takes ~2 s (the fake server sends 100 tokens whatever max_tokens says); Ctrl-C
  // comes before any finishes.
  testing::FakeOpenAiServer server(
      {.ttft = std::chrono::milliseconds(20), .itl = std::chrono::milliseconds(20), .tokens = 100});
  ASSERT_TRUE(server.ok());
  test::TempDir dir;
  const std::string json = dir.file("partial.json");
  ChildProcess bench({"bench", "--url", server.url(), "--model", "m", "--num-requests", "50",
                      "--concurrency", "2", "--output-len", "4", "--json", json});
  // The runner installs its SIGINT handler before it sends the first request, so a signal sent
  // once the server has seen one is handled. A fixed sleep raced a slow start (an ASan build
  // on busy cores): the signal came first and killed bench with the default action.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server.requests() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(server.requests(), 0) << "bench sent no request in 20 s";
  bench.signal(SIGINT);
  auto code = bench.wait(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value()) << "bench did not stop on SIGINT";
  EXPECT_EQ(*code, 130) << bench.err();
  EXPECT_NE(bench.out().find("Interrupted:"), std::string::npos) << bench.out();
  const nlohmann::json j = read_json(json);
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_EQ(j["completed"], 0);  // none of the 2 s requests had finished
  EXPECT_EQ(j["failed"], 0);     // cancelled requests are not failures
}

}  // namespace
}  // namespace tenbin::bench
