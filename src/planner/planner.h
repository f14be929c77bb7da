// The search: every device of the catalog (or of --gpus) x quantization x tensor-parallel
// degree x replica count, each judged by the memory and time models against the SLOs and the
// power and cost limits, then ranked: configurations that meet everything first, cheapest per
// 1K requests first; rejected ones after, each with the constraint that rules it out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "planner/catalog.h"
#include "planner/host_sizing.h"
#include "planner/memory_model.h"
#include "planner/model_spec.h"
#include "planner/serving_model.h"
#include "planner/workload.h"

namespace tenbin::planner {

struct Constraints {
  std::vector<std::string> devices;  // ids or aliases; empty = all GPUs of the catalog
  std::vector<std::string> quants;   // empty = f16, q8_0, q4_k_m, q4_0 (presets) or the file's
  std::optional<double> max_power_w;
  std::optional<double> max_budget_usd;  // purchase price of the GPUs
  std::optional<double> max_price_hour;  // USD per hour for all GPUs
  int max_devices = 8;                   // per configuration (one node)
};

struct PlanConfig {
  const Device* device = nullptr;
  int count = 1;  // devices: tensor_parallel x replicas
  int tensor_parallel = 1;
  int replicas = 1;
  std::string quant;
  MemoryEstimate memory;
  LoadPrediction load;          // one replica at its share of the target concurrency
  int64_t max_concurrency = 0;  // largest concurrency (all replicas) still meeting the SLOs
  double power_w = 0;           // 0 when a TDP is unknown
  std::optional<double> price_per_hour_usd;
  std::string price_basis;  // "hourly rental" or "purchase amortized over 3 years"
  std::optional<double> purchase_usd;
  std::optional<double> cost_per_1k_requests_usd;
  std::optional<double> cost_per_1m_tokens_usd;
  double weights_file_gib = 0;
  std::string rejected_because;  // empty when accepted
  HostSizing host;
  bool accepted() const { return rejected_because.empty(); }
};

struct PlanRequest {
  ModelSpec model;
  Workload workload;
  Slo slo;
  Constraints constraints;
};

struct PlanResult {
  std::vector<PlanConfig> configs;  // best first
  std::vector<std::string> quants;  // what was searched
  std::vector<std::string> notes;   // assumptions worth repeating to the user
};

// `catalog` must outlive the result (configs point at its devices).
Expected<PlanResult> run_plan(const PlanRequest& request, const Catalog& catalog);

// One configuration, evaluated as run_plan would (used by `plan explain`).
PlanConfig evaluate_config(const PlanRequest& request, const Catalog& catalog, const Device& device,
                           const std::string& quant, int tp, int replicas);

// Efficiency of a device: its own (measured/calibrated) or the catalog default.
Efficiency efficiency_of(const Device& d, const Catalog& catalog);

}  // namespace tenbin::planner
