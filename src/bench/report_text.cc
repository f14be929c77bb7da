#include "bench/report_text.h"

#include <cmath>

#include <fmt/format.h>

namespace tenbin::bench {
namespace {

void line(std::string& out, std::string_view label, const std::string& value) {
  out += fmt::format("{:<42}{:>12}\n", label, value);
}
std::string num(double v, int decimals = 2) {
  return fmt::format("{:.{}f}", v, decimals);
}

void section(std::string& out, std::string_view title) {
  const size_t width = 54;
  const size_t pad = title.size() + 2 < width ? (width - title.size() - 2) / 2 : 0;
  out += fmt::format("{0:-<{1}} {2} {0:-<{3}}\n", "", pad, title, width - pad - title.size() - 2);
}

void latency(std::string& out, const char* name, const Distribution& d) {
  line(out, fmt::format("Mean {} (ms):", name), num(d.mean));
  line(out, fmt::format("Median {} (ms):", name), num(d.median));
  line(out, fmt::format("P90 {} (ms):", name), num(d.p90));
  line(out, fmt::format("P99 {} (ms):", name), num(d.p99));
  line(out, fmt::format("Max {} (ms):", name), num(d.max));
}

}  // namespace

std::string describe_level(const LoadLevel& level, double burstiness) {
  std::string out;
  if (std::isfinite(level.rate)) {
    out = fmt::format("rate {:g} req/s (burstiness {:g})", level.rate, burstiness);
    if (level.concurrency > 0) out += fmt::format(", at most {} in flight", level.concurrency);
  } else if (level.concurrency > 0) {
    out = fmt::format("concurrency {}", level.concurrency);
  } else {
    out = "all requests at once";
  }
  return out;
}

std::string format_summary(const RunReport& report) {
  const BenchSummary& s = report.summary;
  std::string out;
  out += fmt::format("{:=^54}\n", " Serving Benchmark Result ");
  line(out, "Load:", describe_level(report.level, report.config.burstiness));
  if (report.interrupted) line(out, "Interrupted:", "yes (partial)");
  line(out, "Successful requests:", std::to_string(s.completed));
  line(out, "Failed requests:", std::to_string(s.failed));
  for (const auto& [cls, n] : s.failed_by_class)
    line(out, fmt::format("  {}:", cls), std::to_string(n));
  line(out, "Benchmark duration (s):", num(s.duration_s));
  line(out, "Total input tokens:", std::to_string(s.total_input_tokens));
  line(out, "Total generated tokens:", std::to_string(s.total_output_tokens));
  line(out, "Token counts from:", s.token_count_source);
  line(out, "Request throughput (req/s):", num(s.request_throughput));
  line(out, "Input token throughput (tok/s):", num(s.input_throughput));
  line(out, "Output token throughput (tok/s):", num(s.output_throughput));
  line(out, "Total Token throughput (tok/s):", num(s.total_token_throughput));
  line(out, "Peak concurrent requests:", std::to_string(s.max_concurrent_requests));
  section(out, "Time to First Token");
  latency(out, "TTFT", s.ttft_ms);
  section(out, "Time per Output Token (excl. 1st token)");
  latency(out, "TPOT", s.tpot_ms);
  section(out, "Inter-token Latency");
  latency(out, "ITL", s.itl_ms);
  section(out, "End-to-end Latency");
  latency(out, "E2EL", s.e2el_ms);
  section(out, "Goodput and cost");
  const Slo& slo = report.config.slo;
  if (slo.any()) {
    std::string objectives;
    if (slo.ttft_ms) objectives += fmt::format("ttft<={:g}ms ", *slo.ttft_ms);
    if (slo.tpot_ms) objectives += fmt::format("tpot<={:g}ms ", *slo.tpot_ms);
    if (slo.e2el_ms) objectives += fmt::format("e2el<={:g}ms ", *slo.e2el_ms);
    line(out, "SLO:", objectives.substr(0, objectives.size() - 1));
  }
  line(out, "Requests meeting the SLO:", std::to_string(s.good_requests));
  line(out, "Goodput (req/s):", num(s.goodput));
  if (report.config.price_per_hour) {
    line(out, "Price (USD/hour):", num(*report.config.price_per_hour, 3));
    line(out, "Cost per 1K requests (USD):",
         s.cost_per_1k_requests_usd ? num(*s.cost_per_1k_requests_usd, 4) : "n/a");
    line(out, "Cost per 1M output tokens (USD):",
         s.cost_per_1m_output_tokens_usd ? num(*s.cost_per_1m_output_tokens_usd, 4) : "n/a");
  }
  out += fmt::format("{:=^54}\n", "");
  return out;
}

std::string format_sweep_table(const std::vector<RunReport>& runs) {
  std::string out =
      fmt::format("{:<34} {:>6} {:>6} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "level", "ok",
                  "failed", "req/s", "out tok/s", "p50 TTFT", "p99 TTFT", "p50 TPOT", "p99 TPOT");
  for (const RunReport& r : runs) {
    const BenchSummary& s = r.summary;
    out += fmt::format(
        "{:<34} {:>6} {:>6} {:>9.2f} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.2f} {:>10.2f}\n",
        describe_level(r.level, r.config.burstiness), s.completed, s.failed, s.request_throughput,
        s.output_throughput, s.ttft_ms.median, s.ttft_ms.p99, s.tpot_ms.median, s.tpot_ms.p99);
  }
  return out;
}

std::string format_progress(const RunProgress& p) {
  if (p.warming_up) return fmt::format("warming up: {} in flight", p.in_flight);
  const double tok_s = p.elapsed_s > 0 ? static_cast<double>(p.output_tokens) / p.elapsed_s : 0;
  const double req_s =
      p.elapsed_s > 0 ? static_cast<double>(p.finished - p.failed) / p.elapsed_s : 0;
  return fmt::format("{}/{} done, {} in flight, {} errors, {:.1f}s, {:.2f} req/s, {:.1f} tok/s",
                     p.finished, p.total, p.in_flight, p.failed, p.elapsed_s, req_s, tok_s);
}

}  // namespace tenbin::bench
