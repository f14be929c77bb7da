#include "util/nvml/nvml_reader.h"

namespace tenbin::nvml {
namespace {

// A field read: true with the value set on success, false when the device does not support it,
// an error for anything else.
Expected<bool> check(const NvmlLibrary& lib, api::Return result, const char* function,
                     unsigned int index) {
  if (result == api::kSuccess) return true;
  if (result == api::kErrorNotSupported) return false;
  return Status::Errorf("NVML: {} on GPU {} failed: {}", function, index, lib.describe(result));
}

}  // namespace

Expected<std::unique_ptr<NvmlReader>> NvmlReader::open() {
  return open(configured_library());
}

Expected<std::unique_ptr<NvmlReader>> NvmlReader::open(const std::string& library) {
  auto lib = NvmlLibrary::load(library);
  if (!lib.ok()) return lib.status();
  std::unique_ptr<NvmlReader> reader(new NvmlReader(std::move(*lib)));
  const NvmlLibrary& l = *reader->lib_;
  const NvmlFunctions& f = l.fn();
  if (api::Return r = f.init(); r != api::kSuccess) {
    return Status::Errorf("NVML not available: nvmlInit_v2 failed: {}", l.describe(r));
  }
  reader->initialized_ = true;
  unsigned int count = 0;
  if (api::Return r = f.device_get_count(&count); r != api::kSuccess) {
    return Status::Errorf("NVML not available: nvmlDeviceGetCount_v2 failed: {}", l.describe(r));
  }
  for (unsigned int i = 0; i < count; ++i) {
    Device d;
    d.index = i;
    if (api::Return r = f.device_get_handle_by_index(i, &d.handle); r != api::kSuccess) {
      return Status::Errorf("NVML not available: nvmlDeviceGetHandleByIndex_v2({}) failed: {}", i,
                            l.describe(r));
    }
    char name[api::kDeviceNameBufferSize] = {};
    if (f.device_get_name(d.handle, name, sizeof(name)) == api::kSuccess) {
      name[sizeof(name) - 1] = '\0';
      d.name = name;
    }
    reader->devices_.push_back(std::move(d));
  }
  return reader;
}

NvmlReader::~NvmlReader() {
  if (initialized_) lib_->fn().shutdown();
}

Expected<GpuSample> NvmlReader::read_device(const Device& d) const {
  const NvmlLibrary& l = *lib_;
  const NvmlFunctions& f = l.fn();
  GpuSample s;
  s.index = d.index;
  s.name = d.name;

  api::Utilization util{};
  auto ok = check(l, f.device_get_utilization_rates(d.handle, &util),
                  "nvmlDeviceGetUtilizationRates", d.index);
  if (!ok.ok()) return ok.status();
  if (*ok) s.gpu_utilization_ratio = util.gpu / 100.0;  // percent

  api::Memory mem{};
  ok = check(l, f.device_get_memory_info(d.handle, &mem), "nvmlDeviceGetMemoryInfo", d.index);
  if (!ok.ok()) return ok.status();
  if (*ok) {
    s.memory_used_bytes = mem.used;
    s.memory_total_bytes = mem.total;
  }

  unsigned int milliwatts = 0;
  ok =
      check(l, f.device_get_power_usage(d.handle, &milliwatts), "nvmlDeviceGetPowerUsage", d.index);
  if (!ok.ok()) return ok.status();
  if (*ok) s.power_watts = milliwatts / 1000.0;

  unsigned int celsius = 0;
  ok = check(l, f.device_get_temperature(d.handle, api::kTemperatureGpu, &celsius),
             "nvmlDeviceGetTemperature", d.index);
  if (!ok.ok()) return ok.status();
  if (*ok) s.temperature_celsius = static_cast<double>(celsius);
  return s;
}

Expected<std::vector<GpuSample>> NvmlReader::read() {
  std::lock_guard lock(mu_);
  std::vector<GpuSample> samples;
  samples.reserve(devices_.size());
  for (const Device& d : devices_) {
    auto s = read_device(d);
    if (!s.ok()) return s.status();
    samples.push_back(std::move(*s));
  }
  return samples;
}

}  // namespace tenbin::nvml
