// NvmlReader through dlopen: the error messages when the library, a function or nvmlInit is
// missing, and the per-device samples read from the test stand-in for libnvidia-ml.so.1
// (tests/unit/util/fake_nvml, whose path the build passes as TENBIN_FAKE_NVML_LIBRARY).
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "unit/test_util.h"
#include "util/nvml/nvml_reader.h"

namespace tenbin::nvml {
namespace {

using test::ScopedEnv;

std::string fake_library() {
#ifdef TENBIN_FAKE_NVML_LIBRARY
  return TENBIN_FAKE_NVML_LIBRARY;
#else
  return "";
#endif
}

#define SKIP_WITHOUT_FAKE_NVML()                                               \
  if (fake_library().empty())                                                  \
  GTEST_SKIP() << "TENBIN_FAKE_NVML_LIBRARY is not defined: the build has no " \
                  "tenbin_fake_nvml target (tests/unit/util/fake_nvml)"

TEST(NvmlReader, DefaultLibraryUnlessOverridden) {
  {
    ScopedEnv env(kLibraryEnv, std::nullopt);
    EXPECT_EQ(configured_library(), "libnvidia-ml.so.1");
  }
  {
    ScopedEnv env(kLibraryEnv, "");
    EXPECT_EQ(configured_library(), "libnvidia-ml.so.1");
  }
  ScopedEnv env(kLibraryEnv, "/opt/nvidia/libnvidia-ml.so.1");
  EXPECT_EQ(configured_library(), "/opt/nvidia/libnvidia-ml.so.1");
}

TEST(NvmlReader, MissingLibraryFailsNamingTheFile) {
  test::TempDir dir;
  const std::string missing = dir.path() + "/no-such-dir/libnvidia-ml.so.1";
  ScopedEnv env(kLibraryEnv, missing);
  auto reader = NvmlReader::open();
  ASSERT_FALSE(reader.ok());
  const std::string& message = reader.status().message();
  EXPECT_EQ(message.rfind("NVML not available: ", 0), 0u) << message;
  EXPECT_NE(message.find(missing), std::string::npos) << message;
  EXPECT_NE(message.find("cannot open shared object file"), std::string::npos) << message;
}

TEST(NvmlReader, LibraryWithoutNvmlFunctionsFailsNamingTheFunction) {
  // Any shared library that is not NVML: the C math library is on every glibc system.
  auto reader = NvmlReader::open("libm.so.6");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().message(),
            "NVML not available: libm.so.6 has no function nvmlInit_v2 (driver too old?)");
}

TEST(NvmlReader, InitFailureIsReportedWithNvmlErrorString) {
  SKIP_WITHOUT_FAKE_NVML();
  ScopedEnv fail("TENBIN_FAKE_NVML_INIT_RESULT", "9");
  auto reader = NvmlReader::open(fake_library());
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().message(),
            "NVML not available: nvmlInit_v2 failed: Driver Not Loaded (9)");
}

TEST(NvmlReader, ReadsEveryDeviceOfTheFakeLibrary) {
  SKIP_WITHOUT_FAKE_NVML();
  ScopedEnv env(kLibraryEnv, fake_library());
  auto reader = NvmlReader::open();
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->library(), fake_library());
  ASSERT_EQ((*reader)->device_count(), 2u);
  auto samples = (*reader)->read();
  ASSERT_TRUE(samples.ok()) << samples.status().message();
  ASSERT_EQ(samples->size(), 2u);

  const GpuSample& a = (*samples)[0];
  EXPECT_EQ(a.index, 0u);
  EXPECT_EQ(a.name, "Tenbin Fake GPU 0");
  ASSERT_TRUE(a.gpu_utilization_ratio.has_value());
  EXPECT_DOUBLE_EQ(*a.gpu_utilization_ratio, 0.42);  // 42 percent
  EXPECT_EQ(a.memory_used_bytes, 123456789u);
  EXPECT_EQ(a.memory_total_bytes, 25769803776u);
  ASSERT_TRUE(a.power_watts.has_value());
  EXPECT_DOUBLE_EQ(*a.power_watts, 71.5);  // 71500 milliwatts
  EXPECT_EQ(a.temperature_celsius, 55.0);

  const GpuSample& b = (*samples)[1];
  EXPECT_EQ(b.index, 1u);
  EXPECT_EQ(b.name, "Tenbin Fake GPU 1");
  ASSERT_TRUE(b.gpu_utilization_ratio.has_value());
  EXPECT_DOUBLE_EQ(*b.gpu_utilization_ratio, 0.07);
  EXPECT_EQ(b.memory_used_bytes, 1048576u);
  EXPECT_EQ(b.memory_total_bytes, 8589934592u);
  EXPECT_FALSE(b.power_watts.has_value());  // NVML_ERROR_NOT_SUPPORTED: absent, not a failure
  EXPECT_EQ(b.temperature_celsius, 40.0);
}

TEST(NvmlReader, ConcurrentReadsAgree) {
  SKIP_WITHOUT_FAKE_NVML();
  auto reader = NvmlReader::open(fake_library());
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  NvmlReader& r = **reader;
  std::vector<std::thread> threads;
  std::vector<int> good(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto samples = r.read();
        if (samples.ok() && samples->size() == 2 && (*samples)[0].memory_used_bytes == 123456789u)
          ++good[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int g : good) EXPECT_EQ(g, 200);
}

TEST(NvmlReader, OpensAgainAfterClose) {
  SKIP_WITHOUT_FAKE_NVML();
  for (int i = 0; i < 3; ++i) {
    auto reader = NvmlReader::open(fake_library());
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    auto samples = (*reader)->read();
    ASSERT_TRUE(samples.ok()) << samples.status().message();
  }
}

}  // namespace
}  // namespace tenbin::nvml
