// TEST STAND-IN for the NVIDIA driver's libnvidia-ml.so.1, NOT the real NVML: a tiny shared
// library exporting the NVML C functions that NvmlReader resolves, with fixed values, so the
// dlopen/dlsym path and the /metrics output can be tested on machines without a GPU. Tests load
// it by pointing TENBIN_NVML_LIBRARY at it.
//   GPU 0 "Tenbin Fake GPU 0": 42 % busy, 123456789 of 25769803776 bytes used, 71500 mW, 55 C.
//   GPU 1 "Tenbin Fake GPU 1": 7 % busy, 1048576 of 8589934592 bytes used, power NOT_SUPPORTED,
//   40 C.
// TENBIN_FAKE_NVML_INIT_RESULT=<code> makes nvmlInit_v2 fail with that code (e.g. 9, driver not
// loaded). The file is .cpp, not .cc, so the tests/unit glob does not compile it into the test
// binary; tests/unit/util/fake_nvml/CMakeLists.txt builds it as a MODULE library.
#include <cstdlib>
#include <cstring>

#include "util/nvml/nvml_api.h"

namespace api = tenbin::nvml::api;

struct tenbin::nvml::api::DeviceHandle {
  const char* name;
  unsigned int utilization_percent;
  unsigned long long memory_used;
  unsigned long long memory_total;
  api::Return power_result;
  unsigned int power_milliwatts;
  unsigned int temperature_celsius;
};

namespace {

api::DeviceHandle g_devices[] = {
    {"Tenbin Fake GPU 0", 42, 123456789ull, 25769803776ull, api::kSuccess, 71500, 55},
    {"Tenbin Fake GPU 1", 7, 1048576ull, 8589934592ull, api::kErrorNotSupported, 0, 40},
};
constexpr unsigned int kDeviceCount = sizeof(g_devices) / sizeof(g_devices[0]);
int g_init_count = 0;  // nvmlInit_v2 is reference-counted, as in the real library

api::Return check_device(api::Device device) {
  if (g_init_count == 0) return api::kErrorUninitialized;
  for (const api::DeviceHandle& d : g_devices) {
    if (device == &d) return api::kSuccess;
  }
  return api::kErrorInvalidArgument;
}

}  // namespace

#define FAKE_NVML_EXPORT extern "C" __attribute__((visibility("default")))

FAKE_NVML_EXPORT api::Return nvmlInit_v2() {
  if (const char* forced = std::getenv("TENBIN_FAKE_NVML_INIT_RESULT")) {
    return static_cast<api::Return>(std::atoi(forced));
  }
  ++g_init_count;
  return api::kSuccess;
}

FAKE_NVML_EXPORT api::Return nvmlShutdown() {
  if (g_init_count == 0) return api::kErrorUninitialized;
  --g_init_count;
  return api::kSuccess;
}

FAKE_NVML_EXPORT api::Return nvmlDeviceGetCount_v2(unsigned int* count) {
  if (g_init_count == 0) return api::kErrorUninitialized;
  if (count == nullptr) return api::kErrorInvalidArgument;
  *count = kDeviceCount;
  return api::kSuccess;
}

FAKE_NVML_EXPORT api::Return nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                           api::Device* device) {
  if (g_init_count == 0) return api::kErrorUninitialized;
  if (index >= kDeviceCount || device == nullptr) return api::kErrorInvalidArgument;
  *device = &g_devices[index];
  return api::kSuccess;
}

FAKE_NVML_EXPORT api::Return nvmlDeviceGetName(api::Device device, char* name,
                                               unsigned int length) {
  if (api::Return r = check_device(device); r != api::kSuccess) return r;
  if (name == nullptr) return api::kErrorInvalidArgument;
  if (std::strlen(device->name) + 1 > length) return api::kErrorInsufficientSize;
  std::strcpy(name, device->name);
  return api::kSuccess;
}

FAKE_NVML_EXPORT api::Return nvmlDeviceGetUtilizationRates(api::Device device,
                                                           api::Utilization* utilization) {
  if (api::Return r = check_device(device); r != api::kSuccess) return r;
  if (utilization == nullptr) return api::kErrorInvalidArgument;
  utilization->gpu = device->utilization_percent;
  utilization->memory = device->utilization_percent / 2;
  return api::kSuccess;
}

FAKE_NVML_EXPORT api::Return nvmlDeviceGetMemoryInfo(api::Device device, api::Memory* memory) {
  if (api::Return r = check_device(device); r != api::kSuccess) return r;
  if (memory == nullptr) return api::kErrorInvalidArgument;
  memory->total = device->memory_total;
  memory->used = device->memory_used;
  memory->free = device->memory_total - device->memory_used;
  return api::kSuccess;
}

FAKE_NVML_EXPORT api::Return nvmlDeviceGetPowerUsage(api::Device device, unsigned int* power) {
  if (api::Return r = check_device(device); r != api::kSuccess) return r;
  if (power == nullptr) return api::kErrorInvalidArgument;
  if (device->power_result != api::kSuccess) return device->power_result;
  *power = device->power_milliwatts;
  return api::kSuccess;
}

FAKE_NVML_EXPORT api::Return nvmlDeviceGetTemperature(api::Device device,
                                                      api::TemperatureSensor sensor,
                                                      unsigned int* temp) {
  if (api::Return r = check_device(device); r != api::kSuccess) return r;
  if (sensor != api::kTemperatureGpu || temp == nullptr) return api::kErrorInvalidArgument;
  *temp = device->temperature_celsius;
  return api::kSuccess;
}

FAKE_NVML_EXPORT const char* nvmlErrorString(api::Return result) {
  switch (result) {
    case api::kSuccess:
      return "Success";
    case api::kErrorUninitialized:
      return "Uninitialized";
    case api::kErrorInvalidArgument:
      return "Invalid Argument";
    case api::kErrorNotSupported:
      return "Not Supported";
    case api::kErrorInsufficientSize:
      return "Insufficient Size";
    case api::kErrorDriverNotLoaded:
      return "Driver Not Loaded";
    default:
      return "Unknown Error";
  }
}
