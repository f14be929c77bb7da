// Latency and throughput of one replica at a given number of requests in flight (closed
// loop), from the step costs of perf_model: continuous batching decodes every running sequence
// each step, prefills share the device with decode, new requests queue for the prefill server
// (M/M/1 waiting-time tail for the p99) and, beyond the KV cache's capacity, for a free slot.
#pragma once

#include <cstdint>
#include <string>

#include "planner/model_spec.h"
#include "planner/perf_model.h"
#include "planner/workload.h"

namespace tenbin::planner {

struct LoadPrediction {
  double ttft_mean_ms = 0;
  double ttft_p99_ms = 0;
  double tpot_ms = 0;         // decoders; 0 for encoders
  double e2e_p99_ms = 0;      // decoders: ttft_p99 + (output - 1) x tpot
  double latency_p99_ms = 0;  // encoders/vision: request latency; decoders: e2e_p99
  double requests_per_s = 0;
  double output_tokens_per_s = 0;
  double prefill_share = 0;  // fraction of device time spent on prefill
  int64_t running = 0;       // sequences decoding together
  int64_t queued = 0;        // requests waiting for a KV-cache slot
  bool saturated = false;    // prefill alone needs the whole device
  StepCost decode;           // one decode step at `running`
  StepCost prefill;          // one prompt
};

LoadPrediction predict_load(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                            const Workload& w, int64_t in_flight, int64_t max_batch);

}  // namespace tenbin::planner
