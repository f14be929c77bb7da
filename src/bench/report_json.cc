#include "bench/report_json.h"

#include <cmath>

namespace tenbin::bench {
namespace {

void put_distribution(nlohmann::json& j, const char* metric, const Distribution& d) {
  const std::string m(metric);
  j["mean_" + m + "_ms"] = d.mean;
  j["median_" + m + "_ms"] = d.median;
  j["std_" + m + "_ms"] = d.std;
  j["p90_" + m + "_ms"] = d.p90;
  j["p95_" + m + "_ms"] = d.p95;
  j["p99_" + m + "_ms"] = d.p99;
  j["max_" + m + "_ms"] = d.max;
}

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json record_to_json(const RequestRecord& r) {
  nlohmann::json j = {{"index", r.index},
                      {"start_s", r.start_s},
                      {"success", r.success},
                      {"ttft_s", r.ttft_s},
                      {"e2el_s", r.e2el_s},
                      {"prompt_tokens", r.prompt_tokens},
                      {"output_tokens", r.output_tokens},
                      {"requested_output_tokens", r.requested_output_tokens},
                      {"token_count_source", r.tokens_from_usage ? "usage" : "stream"},
                      {"itl_s", r.itl_s}};
  if (auto t = tpot_s(r)) j["tpot_s"] = *t;
  if (!r.success) {
    j["error_class"] = r.error_class;
    j["error"] = r.error;
  }
  return j;
}

}  // namespace

nlohmann::json run_to_json(const RunReport& report) {
  const BenchConfig& c = report.config;
  const BenchSummary& s = report.summary;
  nlohmann::json j;
  j["date"] = report.date;
  j["backend"] = "openai";
  j["endpoint"] = endpoint_name(c.endpoint);
  j["endpoint_type"] = "openai";
  j["url"] = c.url;
  j["model_id"] = c.model;
  j["num_prompts"] = c.num_requests;
  j["request_rate"] =
      std::isfinite(report.level.rate) ? nlohmann::json(report.level.rate) : nlohmann::json("inf");
  j["burstiness"] = c.burstiness;
  j["max_concurrency"] = report.level.concurrency > 0 ? nlohmann::json(report.level.concurrency)
                                                      : nlohmann::json(nullptr);
  j["dataset"] = {{"source", c.dataset.source},
                  {"input_len", c.dataset.input_len},
                  {"output_len", c.dataset.output_len},
                  {"range_ratio", c.dataset.range_ratio}};
  j["seed"] = c.seed;
  j["warmup"] = c.warmup;
  j["temperature"] = c.sampling.temperature;
  if (c.sampling.top_p) j["top_p"] = *c.sampling.top_p;
  if (c.sampling.top_k) j["top_k"] = *c.sampling.top_k;
  if (c.sampling.min_p) j["min_p"] = *c.sampling.min_p;
  if (c.sampling.logprobs) j["logprobs"] = *c.sampling.logprobs;
  j["interrupted"] = report.interrupted;

  j["duration"] = s.duration_s;
  j["completed"] = s.completed;
  j["failed"] = s.failed;
  j["failed_by_class"] = s.failed_by_class;
  j["total_input_tokens"] = s.total_input_tokens;
  j["total_output_tokens"] = s.total_output_tokens;
  j["request_throughput"] = s.request_throughput;
  j["input_throughput"] = s.input_throughput;
  j["output_throughput"] = s.output_throughput;
  j["total_token_throughput"] = s.total_token_throughput;
  j["max_concurrent_requests"] = s.max_concurrent_requests;
  put_distribution(j, "ttft", s.ttft_ms);
  put_distribution(j, "tpot", s.tpot_ms);
  put_distribution(j, "itl", s.itl_ms);
  put_distribution(j, "e2el", s.e2el_ms);
  j["percentiles"] = {50, 90, 95, 99};
  j["token_count_source"] = s.token_count_source;

  j["slo"] = nlohmann::json::object();
  if (c.slo.ttft_ms) j["slo"]["ttft_ms"] = *c.slo.ttft_ms;
  if (c.slo.tpot_ms) j["slo"]["tpot_ms"] = *c.slo.tpot_ms;
  if (c.slo.e2el_ms) j["slo"]["e2el_ms"] = *c.slo.e2el_ms;
  j["good_requests"] = s.good_requests;
  j["goodput"] = s.goodput;
  j["request_goodput"] = c.slo.any() ? nlohmann::json(s.goodput) : nlohmann::json(nullptr);
  j["price_per_hour_usd"] = optional_number(c.price_per_hour);
  j["cost_per_1k_requests_usd"] = optional_number(s.cost_per_1k_requests_usd);
  j["cost_per_1m_output_tokens_usd"] = optional_number(s.cost_per_1m_output_tokens_usd);

  nlohmann::json input_lens = nlohmann::json::array(), output_lens = nlohmann::json::array(),
                 ttfts = nlohmann::json::array(), itls = nlohmann::json::array(),
                 errors = nlohmann::json::array(), requests = nlohmann::json::array();
  for (const RequestRecord& r : report.records) {
    input_lens.push_back(r.prompt_tokens);
    output_lens.push_back(r.success ? r.output_tokens : 0);
    ttfts.push_back(r.success ? r.ttft_s : 0.0);
    itls.push_back(r.success ? r.itl_s : std::vector<double>{});
    errors.push_back(r.success ? std::string() : r.error_class + ": " + r.error);
    requests.push_back(record_to_json(r));
  }
  j["input_lens"] = std::move(input_lens);
  j["output_lens"] = std::move(output_lens);
  j["ttfts"] = std::move(ttfts);
  j["itls"] = std::move(itls);
  j["errors"] = std::move(errors);
  j["requests"] = std::move(requests);
  return j;
}

nlohmann::json result_to_json(const std::vector<RunReport>& runs) {
  if (runs.size() == 1) return run_to_json(runs.front());
  nlohmann::json j;
  j["runs"] = nlohmann::json::array();
  for (const RunReport& r : runs) j["runs"].push_back(run_to_json(r));
  return j;
}

}  // namespace tenbin::bench
