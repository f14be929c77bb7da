// The summary of one benchmark run, computed from its request records with vLLM's metric
// definitions: throughputs over the run's duration counting successful requests only; TTFT
// and E2E latency per successful request; TPOT = (e2e - ttft) / (output tokens - 1) for
// requests with more than one output token; ITL = every gap between text-carrying chunks of
// every successful request; goodput = successful requests per second meeting every SLO.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_config.h"
#include "bench/request_record.h"
#include "bench/stats.h"

namespace tenbin::bench {

struct BenchSummary {
  int64_t completed = 0;
  int64_t failed = 0;
  std::map<std::string, int64_t> failed_by_class;  // "http_500" -> 3, "timeout" -> 1, ...
  double duration_s = 0;
  int64_t total_input_tokens = 0;
  int64_t total_output_tokens = 0;
  double request_throughput = 0;  // completed / duration
  double input_throughput = 0;    // input tokens / s
  double output_throughput = 0;   // output tokens / s
  double total_token_throughput = 0;
  Distribution ttft_ms, tpot_ms, itl_ms, e2el_ms;
  int64_t good_requests = 0;  // successful and within every SLO (all successful when none)
  double goodput = 0;         // good_requests / duration
  std::optional<double> cost_per_1k_requests_usd;
  std::optional<double> cost_per_1m_output_tokens_usd;
  std::string token_count_source;  // "usage", "stream", "mixed" or "none"
  int64_t max_concurrent_requests = 0;
};

BenchSummary summarize(const std::vector<RequestRecord>& records, double duration_s, const Slo& slo,
                       std::optional<double> price_per_hour);

// TPOT of one request in seconds, or nullopt when it produced at most one token.
std::optional<double> tpot_s(const RequestRecord& r);

}  // namespace tenbin::bench
