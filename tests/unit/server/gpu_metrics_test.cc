// GPU gauges in ServingMetrics (the /metrics of `tenbin serve`): read from the test stand-in for
// libnvidia-ml.so.1 (tests/unit/util/fake_nvml, path in TENBIN_FAKE_NVML_LIBRARY) through
// TENBIN_NVML_LIBRARY; and absent, with a status line instead, when NVML cannot be loaded.
#include <string>

#include <gtest/gtest.h>

#include "server/serving_metrics.h"
#include "unit/test_util.h"

namespace tenbin::server {
namespace {

using test::ScopedEnv;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(GpuMetrics, PerDeviceGaugesFromFakeNvml) {
#ifndef TENBIN_FAKE_NVML_LIBRARY
  GTEST_SKIP() << "TENBIN_FAKE_NVML_LIBRARY is not defined: the build has no tenbin_fake_nvml "
                  "target (tests/unit/util/fake_nvml)";
#else
  ScopedEnv env("TENBIN_NVML_LIBRARY", TENBIN_FAKE_NVML_LIBRARY);
  auto metrics = ServingMetrics::create("m");
  ASSERT_TRUE(metrics.ok()) << metrics.status().message();
  EXPECT_EQ((*metrics)->gpu_metrics_status(),
            std::string("GPU metrics: 2 GPU(s) through NVML (") + TENBIN_FAKE_NVML_LIBRARY + ")");
  const std::string text = (*metrics)->render(EngineStats{});
  for (const char* line : {
           "# TYPE tenbin_gpu_utilization_ratio gauge\n",
           "tenbin_gpu_utilization_ratio{gpu=\"0\"} 0.42\n",
           "tenbin_gpu_utilization_ratio{gpu=\"1\"} 0.07\n",
           "# HELP tenbin_gpu_memory_used_bytes GPU memory in use, in bytes (NVML)\n",
           "tenbin_gpu_memory_used_bytes{gpu=\"0\"} 123456789\n",
           "tenbin_gpu_memory_used_bytes{gpu=\"1\"} 1048576\n",
           "tenbin_gpu_memory_total_bytes{gpu=\"0\"} 25769803776\n",
           "tenbin_gpu_memory_total_bytes{gpu=\"1\"} 8589934592\n",
           "# TYPE tenbin_gpu_power_watts gauge\n",
           "tenbin_gpu_power_watts{gpu=\"0\"} 71.5\n",
           "tenbin_gpu_temperature_celsius{gpu=\"0\"} 55\n",
           "tenbin_gpu_temperature_celsius{gpu=\"1\"} 40\n",
       }) {
    EXPECT_TRUE(contains(text, line)) << "missing: " << line << "in:\n" << text;
  }
  EXPECT_FALSE(contains(text, "tenbin_gpu_power_watts{gpu=\"1\"}")) << text;  // NOT_SUPPORTED
  EXPECT_TRUE(contains(text, "tenbin_num_requests_running{model_name=\"m\"} 0\n")) << text;
  EXPECT_EQ((*metrics)->render(EngineStats{}), text);  // refreshed, same fixed values
#endif
}

TEST(GpuMetrics, NothingGpuRelatedWithoutNvml) {
  test::TempDir dir;
  const std::string missing = dir.path() + "/libnvidia-ml.so.1";
  ScopedEnv env("TENBIN_NVML_LIBRARY", missing);
  auto metrics = ServingMetrics::create("m");
  ASSERT_TRUE(metrics.ok()) << metrics.status().message();
  const std::string& status = (*metrics)->gpu_metrics_status();
  EXPECT_EQ(status.rfind("GPU metrics off: NVML not available: " + missing, 0), 0u) << status;
  const std::string text = (*metrics)->render(EngineStats{});
  EXPECT_FALSE(contains(text, "tenbin_gpu_")) << text;
  EXPECT_TRUE(contains(text, "tenbin_num_requests_running{model_name=\"m\"} 0\n")) << text;
}

}  // namespace
}  // namespace tenbin::server
