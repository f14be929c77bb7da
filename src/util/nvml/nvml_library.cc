#include "util/nvml/nvml_library.h"

#include <dlfcn.h>

#include <cstdlib>

namespace tenbin::nvml {
namespace {

// dlsym of `name` into `*out`; an error naming the library and the function when it is missing.
template <class Fn>
Status resolve(void* handle, const std::string& path, const char* name, Fn* out) {
  dlerror();  // clear a stale error
  void* symbol = dlsym(handle, name);
  if (symbol == nullptr) {
    return Status::Errorf("NVML not available: {} has no function {} (driver too old?)", path,
                          name);
  }
  // POSIX guarantees that a dlsym result converts to a function pointer.
  *out = reinterpret_cast<Fn>(symbol);
  return Status::Ok();
}

}  // namespace

std::string configured_library() {
  const char* env = std::getenv(kLibraryEnv);
  return env != nullptr && env[0] != '\0' ? std::string(env) : std::string(kDefaultLibrary);
}

Expected<std::unique_ptr<NvmlLibrary>> NvmlLibrary::load(const std::string& path) {
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary());
  lib->path_ = path;
  lib->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib->handle_ == nullptr) {
    const char* err = dlerror();
    std::string reason = err != nullptr ? err : "dlopen failed";
    // glibc names the file in its message; make sure of it for any other loader.
    if (reason.find(path) == std::string::npos) reason = path + ": " + reason;
    return Status::Errorf("NVML not available: {}", reason);
  }
  void* h = lib->handle_;
  NvmlFunctions& f = lib->fn_;
  TENBIN_RETURN_IF_ERROR(resolve(h, path, "nvmlInit_v2", &f.init));
  TENBIN_RETURN_IF_ERROR(resolve(h, path, "nvmlShutdown", &f.shutdown));
  TENBIN_RETURN_IF_ERROR(resolve(h, path, "nvmlDeviceGetCount_v2", &f.device_get_count));
  TENBIN_RETURN_IF_ERROR(
      resolve(h, path, "nvmlDeviceGetHandleByIndex_v2", &f.device_get_handle_by_index));
  TENBIN_RETURN_IF_ERROR(resolve(h, path, "nvmlDeviceGetName", &f.device_get_name));
  TENBIN_RETURN_IF_ERROR(
      resolve(h, path, "nvmlDeviceGetUtilizationRates", &f.device_get_utilization_rates));
  TENBIN_RETURN_IF_ERROR(resolve(h, path, "nvmlDeviceGetMemoryInfo", &f.device_get_memory_info));
  TENBIN_RETURN_IF_ERROR(resolve(h, path, "nvmlDeviceGetPowerUsage", &f.device_get_power_usage));
  TENBIN_RETURN_IF_ERROR(resolve(h, path, "nvmlDeviceGetTemperature", &f.device_get_temperature));
  TENBIN_RETURN_IF_ERROR(resolve(h, path, "nvmlErrorString", &f.error_string));
  return lib;
}

NvmlLibrary::~NvmlLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

std::string NvmlLibrary::describe(api::Return result) const {
  const char* text = fn_.error_string != nullptr ? fn_.error_string(result) : nullptr;
  return fmt::format("{} ({})", text != nullptr ? text : "unknown error", result);
}

}  // namespace tenbin::nvml
