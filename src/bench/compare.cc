#include "bench/compare.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

namespace tenbin::bench {
namespace {

constexpr const char* kFields[] = {"completed",
                                   "failed",
                                   "duration",
                                   "total_input_tokens",
                                   "total_output_tokens",
                                   "request_throughput",
                                   "output_throughput",
                                   "total_token_throughput",
                                   "mean_ttft_ms",
                                   "median_ttft_ms",
                                   "p90_ttft_ms",
                                   "p99_ttft_ms",
                                   "mean_tpot_ms",
                                   "median_tpot_ms",
                                   "p90_tpot_ms",
                                   "p99_tpot_ms",
                                   "mean_itl_ms",
                                   "median_itl_ms",
                                   "p90_itl_ms",
                                   "p99_itl_ms",
                                   "mean_e2el_ms",
                                   "median_e2el_ms",
                                   "p90_e2el_ms",
                                   "p99_e2el_ms",
                                   "goodput",
                                   "cost_per_1k_requests_usd",
                                   "cost_per_1m_output_tokens_usd"};

std::string cell(const nlohmann::json& run, const char* field) {
  if (!run.contains(field) || !run[field].is_number()) return "-";
  return fmt::format("{:.4g}", run[field].get<double>());
}

std::string level_name(const nlohmann::json& run) {
  std::string out;
  if (run.contains("max_concurrency") && run["max_concurrency"].is_number()) {
    out += fmt::format("concurrency {}", run["max_concurrency"].get<int64_t>());
  }
  if (run.contains("request_rate") && run["request_rate"].is_number()) {
    out += fmt::format("{}rate {:g}", out.empty() ? "" : ", ", run["request_rate"].get<double>());
  }
  return out.empty() ? "all at once" : out;
}

std::string compare_runs(const nlohmann::json& a, const nlohmann::json& b,
                         const std::string& name_a, const std::string& name_b) {
  std::string out = fmt::format("{:<32} {:>14} {:>14} {:>9}\n", "metric", name_a.substr(0, 14),
                                name_b.substr(0, 14), "b/a");
  out += fmt::format("{:<32} {:>14} {:>14}\n", "level", level_name(a).substr(0, 14),
                     level_name(b).substr(0, 14));
  for (const char* field : kFields) {
    std::string ratio = "-";
    if (a.contains(field) && b.contains(field) && a[field].is_number() && b[field].is_number()) {
      const double x = a[field].get<double>(), y = b[field].get<double>();
      if (x != 0) ratio = fmt::format("{:.3f}", y / x);
    }
    out +=
        fmt::format("{:<32} {:>14} {:>14} {:>9}\n", field, cell(a, field), cell(b, field), ratio);
  }
  return out;
}

std::vector<nlohmann::json> runs_of(const nlohmann::json& doc) {
  if (doc.contains("runs") && doc["runs"].is_array()) {
    return std::vector<nlohmann::json>(doc["runs"].begin(), doc["runs"].end());
  }
  return {doc};
}

}  // namespace

Expected<nlohmann::json> read_result_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Errorf("cannot open '{}'", path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Errorf("'{}' is not a JSON object", path);
  if (!j.contains("runs") && !j.contains("completed")) {
    return Status::Errorf("'{}' is not a benchmark result (no \"completed\" or \"runs\")", path);
  }
  return j;
}

Expected<std::string> compare_results(const nlohmann::json& a, const nlohmann::json& b,
                                      const std::string& name_a, const std::string& name_b) {
  const auto runs_a = runs_of(a), runs_b = runs_of(b);
  std::string out;
  const size_t n = std::min(runs_a.size(), runs_b.size());
  for (size_t i = 0; i < n; ++i) {
    if (n > 1) out += fmt::format("== level {} of {}\n", i + 1, n);
    out += compare_runs(runs_a[i], runs_b[i], name_a, name_b);
    if (i + 1 < n) out += "\n";
  }
  if (runs_a.size() != runs_b.size()) {
    out += fmt::format("note: {} has {} levels, {} has {}; compared the first {}\n", name_a,
                       runs_a.size(), name_b, runs_b.size(), n);
  }
  return out;
}

}  // namespace tenbin::bench
