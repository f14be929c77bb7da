// Per-GPU readings from the NVIDIA Management Library (NVML) for /metrics: utilization, memory,
// power and temperature of every device the driver reports. NVML is loaded with dlopen at open()
// (see nvml_library.h), so the same binary runs on CPU-only machines, where open() fails with a
// message ("NVML not available: libnvidia-ml.so.1: cannot open shared object file: ...").
// Values are in base units; a reading the device does not support is absent, not an error.
// Thread-safety: read() is safe from any thread (calls are serialized by a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "util/nvml/nvml_library.h"
#include "util/status.h"

namespace tenbin::nvml {

struct GpuSample {
  unsigned int index = 0;  // NVML's device index (nvidia-smi's numbering)
  std::string name;        // "NVIDIA H100 80GB HBM3"; empty when NVML gives none
  // Each absent when the device answers NVML_ERROR_NOT_SUPPORTED.
  std::optional<double> gpu_utilization_ratio;  // 0..1: time with a kernel running
  std::optional<uint64_t> memory_used_bytes;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<double> power_watts;
  std::optional<double> temperature_celsius;  // GPU die
};

class NvmlReader {
 public:
  // Loads configured_library() (TENBIN_NVML_LIBRARY or libnvidia-ml.so.1), or `library`.
  // Calls nvmlInit_v2 and takes the device handles and names; fails when the library or one of
  // its functions is missing or NVML does not initialize (no driver loaded, no permission).
  static Expected<std::unique_ptr<NvmlReader>> open();
  static Expected<std::unique_ptr<NvmlReader>> open(const std::string& library);
  ~NvmlReader();  // nvmlShutdown, then unloads the library
  NvmlReader(const NvmlReader&) = delete;
  NvmlReader& operator=(const NvmlReader&) = delete;

  size_t device_count() const { return devices_.size(); }
  const std::string& library() const { return lib_->path(); }

  // One sample per device, in index order. Fails on an NVML error other than "not supported"
  // (a GPU fallen off the bus, for example), naming the function and the device.
  Expected<std::vector<GpuSample>> read();

 private:
  struct Device {
    unsigned int index = 0;
    api::Device handle = nullptr;
    std::string name;
  };
  explicit NvmlReader(std::unique_ptr<NvmlLibrary> lib) : lib_(std::move(lib)) {}
  Expected<GpuSample> read_device(const Device& device) const;

  std::unique_ptr<NvmlLibrary> lib_;
  bool initialized_ = false;  // nvmlInit_v2 succeeded: the destructor owes an nvmlShutdown
  std::vector<Device> devices_;
  std::mutex mu_;  // serializes read()
};

}  // namespace tenbin::nvml
