#include "bench/summary.h"

#include <algorithm>
#include <utility>

namespace tenbin::bench {
namespace {

std::vector<double> to_ms(const std::vector<double>& seconds) {
  std::vector<double> out;
  out.reserve(seconds.size());
  for (double s : seconds) out.push_back(s * 1000.0);
  return out;
}

bool meets(const RequestRecord& r, const Slo& slo) {
  if (slo.ttft_ms && r.ttft_s * 1000.0 > *slo.ttft_ms) return false;
  if (slo.tpot_ms && tpot_s(r).value_or(0.0) * 1000.0 > *slo.tpot_ms) return false;
  if (slo.e2el_ms && r.e2el_s * 1000.0 > *slo.e2el_ms) return false;
  return true;
}

int64_t peak_concurrency(const std::vector<RequestRecord>& records) {
  std::vector<std::pair<double, int>> events;
  for (const RequestRecord& r : records) {
    events.emplace_back(r.start_s, +1);
    events.emplace_back(r.start_s + r.e2el_s, -1);
  }
  std::sort(events.begin(), events.end());  // at equal times, ends (-1) before starts
  int64_t now = 0, peak = 0;
  for (const auto& [t, delta] : events) {
    now += delta;
    peak = std::max(peak, now);
  }
  return peak;
}

}  // namespace

std::optional<double> tpot_s(const RequestRecord& r) {
  if (r.output_tokens <= 1) return std::nullopt;
  return (r.e2el_s - r.ttft_s) / static_cast<double>(r.output_tokens - 1);
}

BenchSummary summarize(const std::vector<RequestRecord>& records, double duration_s, const Slo& slo,
                       std::optional<double> price_per_hour) {
  BenchSummary s;
  s.duration_s = duration_s;
  std::vector<double> ttft, tpot, itl, e2el;
  int64_t from_usage = 0, from_stream = 0;
  for (const RequestRecord& r : records) {
    if (!r.success) {
      ++s.failed;
      ++s.failed_by_class[r.error_class.empty() ? "unknown" : r.error_class];
      continue;
    }
    ++s.completed;
    s.total_input_tokens += r.prompt_tokens;
    s.total_output_tokens += r.output_tokens;
    ttft.push_back(r.ttft_s);
    e2el.push_back(r.e2el_s);
    if (auto t = tpot_s(r)) tpot.push_back(*t);
    itl.insert(itl.end(), r.itl_s.begin(), r.itl_s.end());
    (r.tokens_from_usage ? from_usage : from_stream) += 1;
    if (meets(r, slo)) ++s.good_requests;
  }
  s.token_count_source = from_usage && from_stream ? "mixed"
                         : from_usage              ? "usage"
                         : from_stream             ? "stream"
                                                   : "none";
  if (duration_s > 0) {
    s.request_throughput = static_cast<double>(s.completed) / duration_s;
    s.input_throughput = static_cast<double>(s.total_input_tokens) / duration_s;
    s.output_throughput = static_cast<double>(s.total_output_tokens) / duration_s;
    s.total_token_throughput =
        static_cast<double>(s.total_input_tokens + s.total_output_tokens) / duration_s;
    s.goodput = static_cast<double>(s.good_requests) / duration_s;
  }
  s.ttft_ms = describe(to_ms(ttft));
  s.tpot_ms = describe(to_ms(tpot));
  s.itl_ms = describe(to_ms(itl));
  s.e2el_ms = describe(to_ms(e2el));
  if (price_per_hour) {
    const double cost = *price_per_hour * duration_s / 3600.0;
    if (s.completed > 0) s.cost_per_1k_requests_usd = cost / static_cast<double>(s.completed) * 1e3;
    if (s.total_output_tokens > 0) {
      s.cost_per_1m_output_tokens_usd = cost / static_cast<double>(s.total_output_tokens) * 1e6;
    }
  }
  s.max_concurrent_requests = peak_concurrency(records);
  return s;
}

}  // namespace tenbin::bench
