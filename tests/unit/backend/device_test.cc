// --device parsing and backend opening: the CPU always opens; a CUDA device that cannot be
// opened (no plugin, no driver, no GPU on this machine) is a clear error, never a crash, and
// the commands that take --device say so and exit 1.
#include <string>

#include <gtest/gtest.h>

#include "backend/backend_registry.h"
#include "unit/test_util.h"

namespace tenbin::backend {
namespace {

TEST(DeviceSpec, ParsesCpuCudaAndIndex) {
  auto cpu = parse_device("cpu");
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->kind, DeviceSpec::Kind::kCpu);
  EXPECT_EQ(cpu->text(), "cpu");
  auto cuda = parse_device("cuda");
  ASSERT_TRUE(cuda.ok());
  EXPECT_EQ(cuda->kind, DeviceSpec::Kind::kCuda);
  EXPECT_EQ(cuda->index, 0);
  auto third = parse_device("cuda:3");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->index, 3);
  EXPECT_EQ(third->text(), "cuda:3");
}

TEST(DeviceSpec, RejectsOtherForms) {
  for (const char* bad : {"gpu", "", "cuda:", "cuda:-1", "cuda:1x", "CUDA", "cpu:0", "cuda:a"}) {
    auto spec = parse_device(bad);
    ASSERT_FALSE(spec.ok()) << bad;
    EXPECT_NE(spec.status().message().find("use cpu, cuda or cuda:N"), std::string::npos)
        << spec.status().message();
  }
}

TEST(OpenBackend, CpuIsHostMemory) {
  auto backend = open_backend(DeviceSpec{});
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  EXPECT_EQ((*backend)->name(), "cpu");
  EXPECT_TRUE((*backend)->host_memory());
  EXPECT_FALSE((*backend)->memory_info().has_value());
  auto buffer = (*backend)->allocate(1000);
  ASSERT_TRUE(buffer.ok());
  const auto* bytes = buffer->as<unsigned char>();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(bytes[i], 0) << "allocate must zero-fill";
}

TEST(OpenBackend, MissingCudaPluginNamesThePath) {
  Expected<std::unique_ptr<Backend>> backend = Status::Error("not opened");
  {
    test::ScopedEnv plugin("TENBIN_CUDA_PLUGIN", "/nonexistent/libtenbin_cuda.so");
    backend = open_backend(DeviceSpec{DeviceSpec::Kind::kCuda, 1});
  }
  ASSERT_FALSE(backend.ok());
  const std::string& message = backend.status().message();
  EXPECT_NE(message.find("--device cuda:1"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/libtenbin_cuda.so"), std::string::npos) << message;
}

// Whether or not this build has the CUDA plugin, a machine without a usable GPU gets an error
// naming the device (plugin missing, driver missing or no device), and exit code 1.
TEST(DeviceFlag, CudaWithoutAUsableGpuIsAClearError) {
  if (open_backend(DeviceSpec{DeviceSpec::Kind::kCuda, 0}).ok()) {
    GTEST_SKIP() << "this machine has a usable CUDA device";
  }
  const std::string model = test::shared_path("models/stories260K.gguf");
  for (const std::string& command : {"run -n 4 -m " + model, "perf -p 8 -n 8 -r 1 -m " + model}) {
    test::CommandResult r = test::run_tenbin(command + " --device cuda:0");
    EXPECT_EQ(r.exit_code, 1) << command << "\n" << r.output;
    EXPECT_NE(r.output.find("--device cuda:0"), std::string::npos) << r.output;
  }
}

TEST(DeviceFlag, UnknownDeviceIsRefused) {
  const std::string model = test::shared_path("models/stories260K.gguf");
  test::CommandResult r = test::run_tenbin("run -n 4 -m " + model + " --device tpu");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown device 'tpu'"), std::string::npos) << r.output;
}

TEST(DeviceFlag, CpuIsTheDefaultAndNamedInTheOutput) {
  const std::string model = test::shared_path("models/stories260K.gguf");
  test::CommandResult r = test::run_tenbin("run -n 4 --temp 0 --device cpu -m " + model);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("device cpu"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tenbin::backend
