// Prometheus gauges for NvmlReader samples, one child per device with a `gpu` label (the NVML
// index): tenbin_gpu_utilization_ratio, tenbin_gpu_memory_used_bytes,
// tenbin_gpu_memory_total_bytes, tenbin_gpu_power_watts and tenbin_gpu_temperature_celsius.
// A gauge is registered the first time its device reports the field, so a reading the device
// does not support never appears; one that was reported before and is missing now reads NaN.
// Thread-safety: none; the owner serializes update() and invalidate().
#pragma once

#include <array>
#include <vector>

#include "util/nvml/nvml_reader.h"
#include "util/prometheus/registry.h"
#include "util/status.h"

namespace tenbin::nvml {

class GpuGauges {
 public:
  static constexpr size_t kFields = 5;

  explicit GpuGauges(prometheus::Registry& registry) : registry_(registry) {}

  // Brings every device's gauges to `samples`; fails only if the registry refuses a gauge.
  Status update(const std::vector<GpuSample>& samples);
  // Every registered gauge to NaN: the last read failed, so no value is current.
  void invalidate();

 private:
  prometheus::Registry& registry_;
  std::vector<std::array<prometheus::Gauge*, kFields>> gauges_;  // by device index
};

}  // namespace tenbin::nvml
