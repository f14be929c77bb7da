#include "planner/host_sizing.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tenbin::planner {
namespace {

int round_up(double v, int step) {
  return static_cast<int>(std::ceil(v / step)) * step;
}

}  // namespace

HostSizing size_host(int gpus, double gpu_memory_gib_each, double model_file_gib, bool cpu_only) {
  HostSizing h;
  if (cpu_only) {
    h.vcpus = 2;
    h.ram_gib = round_up(std::max(4.0, model_file_gib * 1.5), 4);
    h.disk_gib = round_up(model_file_gib * 2 + 20, 10);
    h.reasons.push_back("CPU inference: the cores are the accelerator (this entry's figures)");
    h.reasons.push_back(
        fmt::format("RAM {} GiB: the weights ({:.1f} GiB) plus KV cache and activations, 1.5x",
                    h.ram_gib, model_file_gib));
    h.reasons.push_back(
        fmt::format("disk {} GB: two model versions plus 20 GB OS and logs", h.disk_gib));
    return h;
  }
  const double total_gpu = gpus * gpu_memory_gib_each;
  h.vcpus = std::max(8, 8 * gpus);
  h.ram_gib = round_up(std::max(2.0 * total_gpu, model_file_gib * 1.2), 16);
  h.disk_gib = round_up(model_file_gib * 2 + 100, 50);
  h.reasons.push_back(fmt::format(
      "{} vCPUs: 8 per GPU (HTTP and tokenization threads, the scheduler, one driver thread per "
      "GPU) so the host never starves the GPUs",
      h.vcpus));
  h.reasons.push_back(fmt::format(
      "RAM {} GiB: 2x the {:.0f} GiB of GPU memory (model loading through the page cache, pinned "
      "staging buffers, CPU swap space for preempted KV blocks)",
      h.ram_gib, total_gpu));
  h.reasons.push_back(fmt::format(
      "disk {} GB: the model file ({:.1f} GiB) twice (rolling upgrades) plus 100 GB for the OS, "
      "container images and logs",
      h.disk_gib, model_file_gib));
  return h;
}

}  // namespace tenbin::planner
