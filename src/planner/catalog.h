// The hardware catalog: GPUs (and CPU hosts) with memory, bandwidth, dense throughput, power,
// interconnect and typical prices, each figure with its source. The default catalog
// (data/gpus.yaml) is compiled into the binary; users add or override entries by id with
// their own YAML files (`--catalog`).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace tenbin::planner {

// How one weight type's kernels differ from the device's shared factors: multipliers on the
// bandwidth and compute efficiencies (a Q8_0 matrix-vector product streams closer to the
// memory limit than a Q4_K one, which spends more instructions unpacking each byte).
struct TypeEfficiency {
  double bandwidth = 1.0;
  double compute = 1.0;
};

// How much of a device's peak a serving engine reaches. Explicit so calibration can fit them.
struct Efficiency {
  double bandwidth = 0.75;  // decode: fraction of memory bandwidth streamed
  double compute = 0.5;     // prefill: fraction of dense peak throughput
  std::optional<double> compute_int8 = std::nullopt;  // CPUs: the int8 dot-product path
  double step_overhead_ms = 2.0;  // fixed cost per forward step (scheduling, launches)
  // Per weight type ("q4_0", "q8_0", "q4_k", "f16": kernel_type() of the quantization);
  // a type not listed uses the shared factors (multipliers of 1).
  std::map<std::string, TypeEfficiency> per_type = {};
};

struct Interconnect {
  std::string name;        // "NVLink 4", "PCIe 4.0 x16"
  double gbs = 0;          // per GPU, per direction
  double latency_us = 10;  // per all-reduce
};

struct Device {
  std::string id;    // what --gpus takes: "h100"
  std::string name;  // "NVIDIA H100 SXM5 80GB"
  std::string kind;  // "gpu" or "cpu"
  std::vector<std::string> aliases;
  double memory_gib = 0;
  double bandwidth_gbs = 0;
  double fp16_tflops = 0;            // dense FP16/BF16 tensor throughput
  double int8_tops = 0;              // dense INT8
  std::optional<double> fp8_tflops;  // dense FP8, when the hardware has it
  double fp32_tflops = 0;            // CPUs: f32 FMA peak (the path for f16/f32 weights)
  double tdp_w = 0;
  Interconnect interconnect;
  int max_per_node = 8;
  std::optional<double> price_hour_usd;  // per device
  std::string price_hour_basis;
  std::optional<double> price_purchase_usd;  // per device
  std::string price_purchase_basis;
  double runtime_overhead_gib = 1.0;     // CUDA context, library workspaces, NCCL buffers
  std::optional<Efficiency> efficiency;  // measured for this device; else catalog default
  bool measured = false;                 // figures measured with `tenbin perf`
  std::map<std::string, std::string> sources;
  std::string origin;  // the catalog file it came from

  bool is_cpu() const { return kind == "cpu"; }
};

struct Catalog {
  std::vector<Device> devices;
  Efficiency default_gpu_efficiency;
  double memory_utilization = 0.9;  // share of device memory the engine may use

  const Device* find(const std::string& id_or_alias) const;
};

// The catalog compiled into the binary (data/gpus.yaml).
std::string_view embedded_catalog_yaml();

Expected<Catalog> parse_catalog(std::string_view yaml, const std::string& origin);
// Entries of `extra` replace entries of `base` with the same id; new ids are appended.
void merge_catalog(Catalog& base, const Catalog& extra);
// The embedded catalog merged with each file of `extra_files` in order.
Expected<Catalog> load_catalog(const std::vector<std::string>& extra_files);

}  // namespace tenbin::planner
