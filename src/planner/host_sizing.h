// Sizing of the host around the accelerators, from the usual rules of thumb, each with the
// reason shown to the user: at least 8 vCPUs per GPU (tokenization, HTTP, scheduling and one
// driver thread per GPU), system RAM 2x the total GPU memory (loading and pinned staging
// buffers) and never below the model file, disk for the model files plus the OS and logs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenbin::planner {

struct HostSizing {
  int vcpus = 0;
  int ram_gib = 0;
  int disk_gib = 0;
  std::vector<std::string> reasons;
};

HostSizing size_host(int gpus, double gpu_memory_gib_each, double model_file_gib, bool cpu_only);

}  // namespace tenbin::planner
