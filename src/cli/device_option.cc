#include "cli/device_option.h"

namespace tenbin::cli {

void add_device_option(CLI::App* cmd, std::string* device) {
  cmd->add_option("--device", *device, "Where the model runs: cpu, cuda or cuda:N")
      ->capture_default_str();
}

Expected<LoadedModel> load_model_on_device(const std::string& path, const std::string& device) {
  Expected<backend::DeviceSpec> spec = backend::parse_device(device);
  if (!spec.ok()) return Status::Errorf("--device: {}", spec.status().message());
  return LoadedModel::load(path, *spec);
}

}  // namespace tenbin::cli
