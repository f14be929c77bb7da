// The --device option of the commands that run a model (run, serve, perf): "cpu" (default),
// "cuda" or "cuda:N", and loading a model onto the device it names.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "model/loaded_model.h"
#include "util/status.h"

namespace tenbin::cli {

void add_device_option(CLI::App* cmd, std::string* device);

// Parses `device` and loads the model there; errors name the bad flag or what is missing
// (plugin, driver, device).
Expected<LoadedModel> load_model_on_device(const std::string& path, const std::string& device);

}  // namespace tenbin::cli
