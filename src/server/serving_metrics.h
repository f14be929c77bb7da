// The Prometheus metrics of `tenbin serve` (names with the tenbin_ prefix, base units): request
// outcomes, token counters, latency histograms (time to first token, inter-token latency,
// end-to-end), and engine gauges (running, waiting, KV-cache usage, prefix-cache hits) that are
// refreshed from the engine's stats at each scrape. Where NVML loads at create() (a machine with
// an NVIDIA driver), per-GPU gauges with a `gpu` label are read from it at each scrape too (see
// util/nvml/gpu_gauges.h); elsewhere nothing GPU-related appears and gpu_metrics_status() says
// why, for the server to print.
// Thread-safety: observe_* and render() are safe from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "engine/serving/serving_engine.h"
#include "util/nvml/gpu_gauges.h"
#include "util/nvml/nvml_reader.h"
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

  // Text exposition, with the engine gauges and counters (and the GPU gauges) brought up to
  // date first.
  std::string render(const EngineStats& stats);

  // One line for the startup log: "GPU metrics: 2 GPU(s) through NVML (libnvidia-ml.so.1)", or
  // "GPU metrics off: NVML not available: libnvidia-ml.so.1: cannot open shared object file: ...".
  const std::string& gpu_metrics_status() const { return gpu_status_; }

 private:
  ServingMetrics() = default;
  void open_gpu_metrics();

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

  // GPU metrics: both null where NVML did not open; gpu_gauges_ is guarded by mu_.
  std::unique_ptr<nvml::NvmlReader> nvml_;
  std::unique_ptr<nvml::GpuGauges> gpu_gauges_;
  std::string gpu_status_;
};

}  // namespace tenbin::server
