// Loads the NVIDIA Management Library with dlopen and resolves the C functions of nvml_api.h
// with dlsym, so nothing links against it: where there is no NVIDIA driver, load() fails with a
// message and the caller carries on without GPU metrics. The environment variable
// TENBIN_NVML_LIBRARY (a full path) replaces the default libnvidia-ml.so.1; tests point it at a
// stand-in. The library is unloaded (dlclose) when the object is destroyed.
#pragma once

#include <memory>
#include <string>

#include "util/nvml/nvml_api.h"
#include "util/status.h"

namespace tenbin::nvml {

inline constexpr const char* kDefaultLibrary = "libnvidia-ml.so.1";
inline constexpr const char* kLibraryEnv = "TENBIN_NVML_LIBRARY";

// TENBIN_NVML_LIBRARY when set and not empty, else kDefaultLibrary.
std::string configured_library();

// The resolved entry points; all non-null after a successful load().
struct NvmlFunctions {
  api::InitFn init = nullptr;
  api::ShutdownFn shutdown = nullptr;
  api::DeviceGetCountFn device_get_count = nullptr;
  api::DeviceGetHandleByIndexFn device_get_handle_by_index = nullptr;
  api::DeviceGetNameFn device_get_name = nullptr;
  api::DeviceGetUtilizationRatesFn device_get_utilization_rates = nullptr;
  api::DeviceGetMemoryInfoFn device_get_memory_info = nullptr;
  api::DeviceGetPowerUsageFn device_get_power_usage = nullptr;
  api::DeviceGetTemperatureFn device_get_temperature = nullptr;
  api::ErrorStringFn error_string = nullptr;
};

class NvmlLibrary {
 public:
  // dlopen(`path`) and dlsym of every function; errors start with "NVML not available: " and
  // name the file ("...: cannot open shared object file: ...") or the missing function.
  static Expected<std::unique_ptr<NvmlLibrary>> load(const std::string& path);
  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  const std::string& path() const { return path_; }
  const NvmlFunctions& fn() const { return fn_; }

  // "<nvmlErrorString> (<code>)", e.g. "Not Supported (3)".
  std::string describe(api::Return result) const;

 private:
  NvmlLibrary() = default;
  std::string path_;
  void* handle_ = nullptr;
  NvmlFunctions fn_;
};

}  // namespace tenbin::nvml
