// GpuGauges: exact Prometheus text for hand-made GPU samples (gpu label, base units, HELP and
// TYPE lines), fields a device does not report never appearing, and NaN once a value is gone.
#include <gtest/gtest.h>

#include "util/nvml/gpu_gauges.h"

namespace tenbin::nvml {
namespace {

GpuSample full_sample() {
  GpuSample s;
  s.index = 0;
  s.name = "GPU A";
  s.gpu_utilization_ratio = 0.5;
  s.memory_used_bytes = 1000;
  s.memory_total_bytes = 4000;
  s.power_watts = 250.25;
  s.temperature_celsius = 61;
  return s;
}

TEST(NvmlGpuGauges, ExactTextAndUnsupportedFieldsAbsent) {
  prometheus::Registry registry;
  GpuGauges gauges(registry);
  GpuSample b;
  b.index = 1;
  b.memory_used_bytes = 5;
  b.memory_total_bytes = 10;  // utilization, power and temperature not supported
  ASSERT_TRUE(gauges.update({full_sample(), b}).ok());
  EXPECT_EQ(registry.expose(),
            "# HELP tenbin_gpu_utilization_ratio Fraction of the last NVML sample period during "
            "which a kernel ran on the GPU\n"
            "# TYPE tenbin_gpu_utilization_ratio gauge\n"
            "tenbin_gpu_utilization_ratio{gpu=\"0\"} 0.5\n"
            "# HELP tenbin_gpu_memory_used_bytes GPU memory in use, in bytes (NVML)\n"
            "# TYPE tenbin_gpu_memory_used_bytes gauge\n"
            "tenbin_gpu_memory_used_bytes{gpu=\"0\"} 1000\n"
            "tenbin_gpu_memory_used_bytes{gpu=\"1\"} 5\n"
            "# HELP tenbin_gpu_memory_total_bytes GPU memory installed, in bytes (NVML)\n"
            "# TYPE tenbin_gpu_memory_total_bytes gauge\n"
            "tenbin_gpu_memory_total_bytes{gpu=\"0\"} 4000\n"
            "tenbin_gpu_memory_total_bytes{gpu=\"1\"} 10\n"
            "# HELP tenbin_gpu_power_watts Power drawn by the GPU board, in watts (NVML)\n"
            "# TYPE tenbin_gpu_power_watts gauge\n"
            "tenbin_gpu_power_watts{gpu=\"0\"} 250.25\n"
            "# HELP tenbin_gpu_temperature_celsius GPU die temperature, in degrees Celsius "
            "(NVML)\n"
            "# TYPE tenbin_gpu_temperature_celsius gauge\n"
            "tenbin_gpu_temperature_celsius{gpu=\"0\"} 61\n");
}

TEST(NvmlGpuGauges, NoSamplesNoFamilies) {
  prometheus::Registry registry;
  GpuGauges gauges(registry);
  ASSERT_TRUE(gauges.update({}).ok());
  gauges.invalidate();
  EXPECT_EQ(registry.expose(), "");
}

TEST(NvmlGpuGauges, UpdatesInPlaceAndMarksLostValuesNaN) {
  prometheus::Registry registry;
  GpuGauges gauges(registry);
  ASSERT_TRUE(gauges.update({full_sample()}).ok());
  GpuSample later = full_sample();
  later.memory_used_bytes = 3000;
  later.power_watts.reset();  // stopped reporting
  ASSERT_TRUE(gauges.update({later}).ok());
  std::string text = registry.expose();
  EXPECT_NE(text.find("tenbin_gpu_memory_used_bytes{gpu=\"0\"} 3000\n"), std::string::npos);
  EXPECT_NE(text.find("tenbin_gpu_power_watts{gpu=\"0\"} NaN\n"), std::string::npos);
  EXPECT_EQ(text.find("tenbin_gpu_memory_used_bytes{gpu=\"0\"} 1000"), std::string::npos);

  gauges.invalidate();  // a failed read: nothing is current
  text = registry.expose();
  EXPECT_NE(text.find("tenbin_gpu_utilization_ratio{gpu=\"0\"} NaN\n"), std::string::npos);
  EXPECT_NE(text.find("tenbin_gpu_temperature_celsius{gpu=\"0\"} NaN\n"), std::string::npos);

  ASSERT_TRUE(gauges.update({full_sample()}).ok());  // and values come back
  EXPECT_NE(registry.expose().find("tenbin_gpu_power_watts{gpu=\"0\"} 250.25\n"),
            std::string::npos);
}

}  // namespace
}  // namespace tenbin::nvml
