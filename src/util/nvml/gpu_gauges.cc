#include "util/nvml/gpu_gauges.h"

#include <limits>
#include <optional>
#include <string>

namespace tenbin::nvml {
namespace {

struct Field {
  const char* name;
  const char* help;
  std::optional<double> (*value)(const GpuSample&);
};

template <class T>
std::optional<double> as_double(const std::optional<T>& v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

constexpr std::array<Field, GpuGauges::kFields> kFieldTable = {{
    {"tenbin_gpu_utilization_ratio",
     "Fraction of the last NVML sample period during which a kernel ran on the GPU",
     [](const GpuSample& s) { return s.gpu_utilization_ratio; }},
    {"tenbin_gpu_memory_used_bytes", "GPU memory in use, in bytes (NVML)",
     [](const GpuSample& s) { return as_double(s.memory_used_bytes); }},
    {"tenbin_gpu_memory_total_bytes", "GPU memory installed, in bytes (NVML)",
     [](const GpuSample& s) { return as_double(s.memory_total_bytes); }},
    {"tenbin_gpu_power_watts", "Power drawn by the GPU board, in watts (NVML)",
     [](const GpuSample& s) { return s.power_watts; }},
    {"tenbin_gpu_temperature_celsius", "GPU die temperature, in degrees Celsius (NVML)",
     [](const GpuSample& s) { return s.temperature_celsius; }},
}};

}  // namespace

Status GpuGauges::update(const std::vector<GpuSample>& samples) {
  for (const GpuSample& s : samples) {
    if (s.index >= gauges_.size()) gauges_.resize(s.index + 1, {});
    auto& device = gauges_[s.index];
    for (size_t i = 0; i < kFields; ++i) {
      const Field& field = kFieldTable[i];
      std::optional<double> value = field.value(s);
      if (!value) {
        if (device[i] != nullptr) device[i]->set(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      if (device[i] == nullptr) {
        auto g = registry_.gauge(field.name, field.help, {{"gpu", std::to_string(s.index)}});
        if (!g.ok()) return g.status();
        device[i] = *g;
      }
      device[i]->set(*value);
    }
  }
  return Status::Ok();
}

void GpuGauges::invalidate() {
  for (auto& device : gauges_) {
    for (prometheus::Gauge* g : device) {
      if (g != nullptr) g->set(std::numeric_limits<double>::quiet_NaN());
    }
  }
}

}  // namespace tenbin::nvml
