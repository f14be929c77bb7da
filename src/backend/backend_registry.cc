#include "backend/backend_registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>

#include "backend/cpu_backend.h"
#include "backend/plugin_abi.h"

namespace tenbin::backend {
namespace {

constexpr const char* kCudaPluginName = "libtenbin_cuda.so";

// The plugin sits next to the executable (the build folder, or an install's bin/ and lib/).
std::vector<std::string> cuda_plugin_candidates() {
  if (const char* path = std::getenv("TENBIN_CUDA_PLUGIN"); path != nullptr && *path != '\0') {
    return {path};
  }
  std::vector<std::string> out;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path dir = exe.parent_path();
    out.push_back((dir / kCudaPluginName).string());
    out.push_back((dir.parent_path() / "lib" / kCudaPluginName).string());
  }
  out.push_back(kCudaPluginName);  // the loader's search path (LD_LIBRARY_PATH)
  return out;
}

Expected<std::unique_ptr<Backend>> open_cuda(int index) {
  std::string tried;
  void* handle = nullptr;
  for (const std::string& path : cuda_plugin_candidates()) {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) break;
    const char* why = dlerror();
    tried += "\n  " + (why != nullptr ? std::string(why) : path + ": not loadable");
  }
  if (handle == nullptr) {
    return Status::Errorf(
        "--device cuda:{} needs the CUDA backend plugin ({}), which could not be loaded (is "
        "this build made with CUDA, and are the CUDA runtime and cuBLAS libraries installed?); "
        "tried:{}",
        index, kCudaPluginName, tried);
  }
  // The handle stays open for the life of the process: the backend's code lives in it.
  auto version =
      reinterpret_cast<TenbinBackendAbiVersionFn>(dlsym(handle, TENBIN_BACKEND_ABI_VERSION_SYMBOL));
  auto create =
      reinterpret_cast<TenbinCreateBackendFn>(dlsym(handle, TENBIN_CREATE_BACKEND_SYMBOL));
  if (version == nullptr || create == nullptr) {
    return Status::Errorf("{} does not export the Tenbin backend entry points", kCudaPluginName);
  }
  if (version() != kBackendAbiVersion) {
    return Status::Errorf("{} was built for backend ABI {} but this binary uses {}; rebuild both",
                          kCudaPluginName, version(), kBackendAbiVersion);
  }
  char error[512] = {0};
  Backend* backend = create(index, error, sizeof(error));
  if (backend == nullptr) {
    return Status::Errorf("--device cuda:{}: {}", index, error[0] ? error : "unknown error");
  }
  return std::unique_ptr<Backend>(backend);
}

}  // namespace

std::string DeviceSpec::text() const {
  return kind == Kind::kCpu ? std::string("cpu") : fmt::format("cuda:{}", index);
}

Expected<DeviceSpec> parse_device(std::string_view text) {
  DeviceSpec spec;
  if (text == "cpu") return spec;
  if (text == "cuda") {
    spec.kind = DeviceSpec::Kind::kCuda;
    return spec;
  }
  if (text.starts_with("cuda:")) {
    const std::string_view digits = text.substr(5);
    int index = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() &&
        index >= 0) {
      spec.kind = DeviceSpec::Kind::kCuda;
      spec.index = index;
      return spec;
    }
  }
  return Status::Errorf("unknown device '{}': use cpu, cuda or cuda:N (N = device index)", text);
}

Expected<std::unique_ptr<Backend>> open_backend(const DeviceSpec& spec) {
  if (spec.kind == DeviceSpec::Kind::kCpu) return std::unique_ptr<Backend>(new CpuBackend());
  return open_cuda(spec.index);
}

}  // namespace tenbin::backend
