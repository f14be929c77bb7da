// `tenbin bench`: load-tests any OpenAI-compatible server (closed or open loop, one level or a
// sweep of levels) and prints vLLM-style figures; --json and --html write the results.
// `tenbin bench compare a.json b.json` puts two result files side by side.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "bench/compare.h"
#include "bench/dataset.h"
#include "bench/report_html.h"
#include "bench/report_json.h"
#include "bench/report_text.h"
#include "bench/runner.h"
#include "bench/value_parsing.h"
#include "cli/commands.h"
#include "util/http_client/http_client.h"
#include "util/http_client/url.h"

namespace tenbin::cli {
namespace {

struct BenchCliOptions {
  bench::BenchConfig config;
  std::string endpoint = "completions";
  std::string concurrency;
  std::string rate;
  std::string duration;
  std::string slo;
  double price_per_hour = 0;
  std::string json_path;
  std::string html_path;
  bool no_progress = false;
  std::vector<std::string> compare_files;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

std::string local_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

Expected<std::vector<bench::LoadLevel>> load_levels(const BenchCliOptions& o) {
  std::vector<double> concurrency, rates;
  if (!o.concurrency.empty()) {
    auto list = bench::parse_number_list(o.concurrency, false);
    if (!list.ok()) return Status::Errorf("--concurrency: {}", list.status().message());
    concurrency = *list;
    for (double c : concurrency) {
      if (c != std::floor(c)) return Status::Errorf("--concurrency: {} is not a whole number", c);
    }
  }
  if (!o.rate.empty()) {
    auto list = bench::parse_number_list(o.rate, true);
    if (!list.ok()) return Status::Errorf("--rate: {}", list.status().message());
    rates = *list;
  }
  if (concurrency.size() > 1 && rates.size() > 1) {
    return Status::Error("sweep either --concurrency or --rate, not both");
  }
  std::vector<bench::LoadLevel> levels;
  const double inf = bench::LoadLevel{}.rate;
  if (concurrency.size() > 1) {
    for (double c : concurrency)
      levels.push_back({static_cast<int>(c), rates.empty() ? inf : rates[0]});
  } else if (!rates.empty()) {
    for (double r : rates)
      levels.push_back({concurrency.empty() ? 0 : static_cast<int>(concurrency[0]), r});
  } else if (!concurrency.empty()) {
    levels.push_back({static_cast<int>(concurrency[0]), inf});
  } else {
    levels.push_back({});
  }
  return levels;
}

// The first model the server lists, for when --model is not given.
Expected<std::string> first_served_model(const bench::BenchConfig& c) {
  auto url = http_client::parse_http_url(c.url);
  if (!url.ok()) return url.status();
  std::string base = url->base_path;
  if (base.ends_with("/v1")) base.resize(base.size() - 3);
  http_client::HttpClientRequest req;
  req.method = "GET";
  req.target = base + "/v1/models";
  req.timeout = std::chrono::milliseconds(10'000);
  if (!c.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + c.api_key);
  boost::asio::io_context io;
  auto res = http_client::fetch_once(io, {.host = url->host, .port = url->port}, std::move(req));
  if (!res.result.ok()) return Status::Errorf("GET /v1/models: {}", res.result.message);
  nlohmann::json j = nlohmann::json::parse(res.body, nullptr, false);
  if (res.result.status != 200 || j.is_discarded() || !j.contains("data") ||
      !j["data"].is_array() || j["data"].empty() || !j["data"][0].contains("id")) {
    return Status::Errorf("GET /v1/models answered {}; pass --model", res.result.status);
  }
  return j["data"][0]["id"].get<std::string>();
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

int run_compare(const BenchCliOptions& o) {
  if (o.compare_files.size() != 2) return fail("compare needs two result files");
  auto a = bench::read_result_file(o.compare_files[0]);
  if (!a.ok()) return fail(a.status().message());
  auto b = bench::read_result_file(o.compare_files[1]);
  if (!b.ok()) return fail(b.status().message());
  auto table = bench::compare_results(*a, *b, o.compare_files[0], o.compare_files[1]);
  if (!table.ok()) return fail(table.status().message());
  std::fputs(table->c_str(), stdout);
  return 0;
}

int run_bench(BenchCliOptions o) {
  bench::BenchConfig& c = o.config;
  if (o.endpoint == "chat") {
    c.endpoint = bench::Endpoint::kChat;
  } else if (o.endpoint != "completions") {
    return fail("--endpoint must be 'completions' or 'chat'");
  }
  if (auto url = http_client::parse_http_url(c.url); !url.ok()) return fail(url.status().message());
  auto levels = load_levels(o);
  if (!levels.ok()) return fail(levels.status().message());
  if (!o.duration.empty()) {
    auto d = bench::parse_duration_s(o.duration);
    if (!d.ok()) return fail("--duration: " + d.status().message());
    c.duration_s = *d;
  }
  if (!o.slo.empty()) {
    auto slo = bench::parse_slo(o.slo);
    if (!slo.ok()) return fail("--slo: " + slo.status().message());
    c.slo = *slo;
  }
  if (o.price_per_hour > 0) c.price_per_hour = o.price_per_hour;
  if (c.burstiness <= 0) return fail("--burstiness must be positive");
  if (c.num_requests < 1) return fail("--num-requests must be at least 1");
  if (c.model.empty()) {
    auto model = first_served_model(c);
    if (!model.ok()) return fail(model.status().message());
    c.model = *model;
  }

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  std::vector<bench::RunReport> reports;
  bool interrupted = false;
  for (size_t i = 0; i < levels->size() && !interrupted; ++i) {
    const bench::LoadLevel& level = (*levels)[i];
    auto prompts = bench::load_dataset(c.dataset, c.num_requests + c.warmup, c.seed + i);
    if (!prompts.ok()) return fail(prompts.status().message());
    std::fprintf(stderr, "bench: %s, %lld requests to %s (%s, model '%s')\n",
                 bench::describe_level(level, c.burstiness).c_str(),
                 static_cast<long long>(c.num_requests), c.url.c_str(),
                 bench::endpoint_name(c.endpoint), c.model.c_str());
    bench::RunHooks hooks;
    hooks.stop_on_sigint = true;
    if (!o.no_progress) {
      hooks.progress_interval_s = tty ? 0.5 : 5.0;
      hooks.on_progress = [tty](const bench::RunProgress& p) {
        const std::string text = bench::format_progress(p);
        std::fprintf(stderr, tty ? "\r\033[K%s" : "%s\n", text.c_str());
        std::fflush(stderr);
      };
    }
    bench::RunReport report;
    report.config = c;
    report.level = level;
    report.date = local_date();
    auto result = bench::run_level(c, level, *prompts, hooks);
    if (tty && !o.no_progress) std::fputs("\n", stderr);
    if (!result.ok()) return fail(result.status().message());
    report.interrupted = interrupted = result->interrupted;
    report.summary = bench::summarize(result->records, result->duration_s, c.slo, c.price_per_hour);
    report.records = std::move(result->records);
    std::printf("%s", bench::format_summary(report).c_str());
    std::fflush(stdout);
    reports.push_back(std::move(report));
  }
  if (reports.size() > 1) std::printf("\n%s", bench::format_sweep_table(reports).c_str());
  if (!o.json_path.empty() &&
      !write_file(o.json_path, bench::result_to_json(reports).dump(2) + "\n")) {
    return fail("cannot write " + o.json_path);
  }
  if (!o.html_path.empty() && !write_file(o.html_path, bench::render_html(reports))) {
    return fail("cannot write " + o.html_path);
  }
  if (interrupted) {
    std::fprintf(stderr, "interrupted: the summary covers the requests that finished\n");
    return 130;
  }
  int64_t completed = 0;
  for (const auto& r : reports) completed += r.summary.completed;
  if (completed == 0) {
    std::fprintf(stderr, "error: no request succeeded\n");
    return 1;
  }
  return 0;
}

}  // namespace

Action register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Load-test an OpenAI-compatible server (TTFT, TPOT, ITL, E2E, throughput)");
  bench::BenchConfig& c = o->config;
  cmd->add_option("--url", c.url, "Server base URL")->capture_default_str();
  cmd->add_option("--model", c.model, "Model name to request (default: the server's first)");
  cmd->add_option("--endpoint", o->endpoint, "completions or chat")->capture_default_str();
  cmd->add_option(
      "--concurrency", o->concurrency,
      "Users in a closed loop, or the in-flight cap with --rate; a list sweeps (1,8,32)");
  cmd->add_option("--rate", o->rate, "Open loop: requests/s (list sweeps; inf = all at once)");
  cmd->add_option("--burstiness", c.burstiness, "Gamma shape of arrivals (1 = Poisson)")
      ->capture_default_str();
  cmd->add_option("-n,--num-requests", c.num_requests, "Requests per level")->capture_default_str();
  cmd->add_option("--duration", o->duration, "Stop sending new requests after this (60s, 5m)");
  cmd->add_option("--dataset", c.dataset.source, "random, prompts.jsonl or sharegpt.json")
      ->capture_default_str();
  cmd->add_option("--input-len", c.dataset.input_len, "random: prompt tokens")
      ->capture_default_str();
  auto* out_len =
      cmd->add_option("--output-len", c.dataset.output_len, "Output tokens (max_tokens)")
          ->capture_default_str();
  cmd->add_option("--range-ratio", c.dataset.range_ratio, "random: lengths vary by +-ratio")
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "Seed of prompts and arrivals")->capture_default_str();
  cmd->add_option("--temperature", c.sampling.temperature, "Sampling temperature (0 = greedy)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--top-p", c.sampling.top_p, "Nucleus sampling (default: the server's)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--top-k", c.sampling.top_k, "Top-k sampling (default: the server's)")
      ->check(CLI::Range(int64_t{-1}, std::numeric_limits<int64_t>::max()));
  cmd->add_option("--min-p", c.sampling.min_p, "Min-p sampling (default: the server's)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--logprobs", c.sampling.logprobs,
                  "Logprobs per token to ask for (chat: top_logprobs; default: none)")
      ->check(CLI::Range(int64_t{0}, int64_t{20}));
  cmd->add_option("--api-key", c.api_key, "Bearer token");
  cmd->add_option("--slo", o->slo, "Objectives for goodput, e.g. ttft=500ms,tpot=50ms");
  cmd->add_option("--price-per-hour", o->price_per_hour, "USD per hour of the server, for cost");
  cmd->add_option("--json", o->json_path, "Write results (vLLM field names) to this file");
  cmd->add_option("--html", o->html_path, "Write a self-contained HTML report to this file");
  cmd->add_option("--warmup", c.warmup, "Unmeasured requests before each level")
      ->capture_default_str();
  cmd->add_option("--request-timeout", c.request_timeout_s, "Seconds before a request times out")
      ->capture_default_str();
  cmd->add_flag("--no-progress", o->no_progress, "No live progress line");
  CLI::App* compare = cmd->add_subcommand("compare", "Compare two result files side by side");
  compare->add_option("files", o->compare_files, "a.json b.json")->required()->expected(2);
  return [o, compare, out_len] {
    if (compare->parsed()) return run_compare(*o);
    o->config.dataset.output_len_given = out_len->count() > 0;
    return run_bench(*o);
  };
}

}  // namespace tenbin::cli
