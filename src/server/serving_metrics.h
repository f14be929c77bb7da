// The Prometheus metrics of `tenbin serve` (names with the tenbin_ prefix, base units): request
// outcomes, token counters, latency histograms (time to first token, inter-token latency,
// end-to-end), and engine gauges (running, waiting, KV-cache usage, prefix-cache hits) that are
// refreshed from the engine's stats at each scrape.
// Thread-safety: observe_* and render() are safe from any thread.
#pragma once

#include <mutex>
#include <string>

#include "engine/serving/serving_engine.h"
#include "util/prometheus/registry.h"
#include "util/status.h"

namespace tenbin::server {

class ServingMetrics {
 public:
  static Expected<std::unique_ptr<ServingMetrics>> create(const std::string& model_name);

  void observe_request(const char* outcome);  // "stop", "length", "cancelled", "error", "rejected"
  void observe_ttft(double seconds) { ttft_->observe(seconds); }
  void observe_itl(double seconds) { itl_->observe(seconds); }
  void observe_e2e(double seconds) { e2e_->observe(seconds); }
  void observe_queue_time(double seconds) { queue_->observe(seconds); }

  // Text exposition, with the engine gauges and counters brought up to date first.
  std::string render(const EngineStats& stats);

 private:
  ServingMetrics() = default;

  std::string model_;
  prometheus::Registry registry_;
  prometheus::Histogram* ttft_ = nullptr;
  prometheus::Histogram* itl_ = nullptr;
  prometheus::Histogram* e2e_ = nullptr;
  prometheus::Histogram* queue_ = nullptr;
  prometheus::Gauge* running_ = nullptr;
  prometheus::Gauge* waiting_ = nullptr;
  prometheus::Gauge* kv_usage_ = nullptr;
  prometheus::Counter* prompt_tokens_ = nullptr;
  prometheus::Counter* generation_tokens_ = nullptr;
  prometheus::Counter* prefix_queries_ = nullptr;
  prometheus::Counter* prefix_hits_ = nullptr;
  prometheus::Counter* preemptions_ = nullptr;
  std::mutex mu_;
  EngineStats last_;  // guarded by mu_: what the counters already include
};

}  // namespace tenbin::server
