#include "planner/catalog.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace tenbin::planner {
namespace {

std::optional<double> opt_number(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || v.IsNull()) return std::nullopt;
  return v.as<double>();
}

double number(const YAML::Node& n, const char* key, double fallback) {
  return opt_number(n, key).value_or(fallback);
}

std::string text(const YAML::Node& n, const char* key, const std::string& fallback = "") {
  const YAML::Node v = n[key];
  return v && !v.IsNull() ? v.as<std::string>() : fallback;
}

Efficiency parse_efficiency(const YAML::Node& n, const Efficiency& fallback) {
  Efficiency e = fallback;
  e.bandwidth = number(n, "bandwidth", e.bandwidth);
  e.compute = number(n, "compute", e.compute);
  if (auto v = opt_number(n, "compute_int8")) e.compute_int8 = *v;
  e.step_overhead_ms = number(n, "step_overhead_ms", e.step_overhead_ms);
  if (const YAML::Node t = n["per_type"]; t && t.IsMap()) {
    for (const auto& kv : t) {
      std::string type = kv.first.as<std::string>();
      for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      TypeEfficiency& f = e.per_type[type];
      f.bandwidth = number(kv.second, "bandwidth", 1.0);
      f.compute = number(kv.second, "compute", 1.0);
    }
  }
  return e;
}

Expected<Device> parse_device(const YAML::Node& n, const Catalog& catalog,
                              const std::string& origin) {
  Device d;
  d.origin = origin;
  d.id = text(n, "id");
  if (d.id.empty()) return Status::Errorf("{}: a device entry has no 'id'", origin);
  d.name = text(n, "name", d.id);
  d.kind = text(n, "kind", "gpu");
  if (d.kind != "gpu" && d.kind != "cpu") {
    return Status::Errorf("{}: device '{}': kind '{}' is neither gpu nor cpu", origin, d.id,
                          d.kind);
  }
  if (const YAML::Node a = n["aliases"]; a && a.IsSequence()) {
    for (const YAML::Node& x : a) d.aliases.push_back(x.as<std::string>());
  }
  d.memory_gib = number(n, "memory_gib", 0);
  d.bandwidth_gbs = number(n, "bandwidth_gbs", 0);
  d.fp16_tflops = number(n, "fp16_tflops", 0);
  d.int8_tops = number(n, "int8_tops", 0);
  d.fp8_tflops = opt_number(n, "fp8_tflops");
  d.fp32_tflops = number(n, "fp32_tflops", 0);
  d.tdp_w = number(n, "tdp_w", 0);
  d.max_per_node = static_cast<int>(number(n, "max_per_node", d.kind == "cpu" ? 1 : 8));
  d.runtime_overhead_gib = number(n, "runtime_overhead_gib", d.kind == "cpu" ? 0.1 : 1.0);
  d.measured = n["measured"] && n["measured"].as<bool>();
  if (const YAML::Node ic = n["interconnect"]; ic && ic.IsMap()) {
    d.interconnect.name = text(ic, "name");
    d.interconnect.gbs = number(ic, "gbs", 0);
    d.interconnect.latency_us = number(ic, "latency_us", 10);
  }
  if (const YAML::Node p = n["price"]; p && p.IsMap()) {
    d.price_hour_usd = opt_number(p, "hour_usd");
    d.price_hour_basis = text(p, "hour_basis");
    d.price_purchase_usd = opt_number(p, "purchase_usd");
    d.price_purchase_basis = text(p, "purchase_basis");
  }
  if (const YAML::Node e = n["efficiency"]; e && e.IsMap()) {
    d.efficiency = parse_efficiency(e, catalog.default_gpu_efficiency);
  }
  if (const YAML::Node s = n["sources"]; s && s.IsMap()) {
    for (const auto& kv : s) d.sources[kv.first.as<std::string>()] = kv.second.as<std::string>();
  }
  const bool compute_known = d.fp16_tflops > 0 || d.fp32_tflops > 0 || d.int8_tops > 0;
  if (d.memory_gib <= 0 || d.bandwidth_gbs <= 0 || !compute_known) {
    return Status::Errorf(
        "{}: device '{}' needs memory_gib, bandwidth_gbs and a throughput (fp16_tflops, "
        "int8_tops or fp32_tflops) above 0",
        origin, d.id);
  }
  return d;
}

}  // namespace

const Device* Catalog::find(const std::string& key) const {
  for (const Device& d : devices) {
    if (d.id == key) return &d;
  }
  for (const Device& d : devices) {
    for (const std::string& a : d.aliases) {
      if (a == key) return &d;
    }
  }
  return nullptr;
}

Expected<Catalog> parse_catalog(std::string_view yaml, const std::string& origin) {
  Catalog catalog;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (const YAML::Node d = root["defaults"]; d && d.IsMap()) {
      if (const YAML::Node e = d["efficiency"]; e && e.IsMap()) {
        catalog.default_gpu_efficiency = parse_efficiency(e, catalog.default_gpu_efficiency);
      }
      catalog.memory_utilization = number(d, "memory_utilization", catalog.memory_utilization);
    }
    const YAML::Node devices = root["devices"];
    if (!devices || !devices.IsSequence()) {
      return Status::Errorf("{}: expected a 'devices:' list", origin);
    }
    for (const YAML::Node& n : devices) {
      auto d = parse_device(n, catalog, origin);
      if (!d.ok()) return d.status();
      catalog.devices.push_back(std::move(*d));
    }
  } catch (const YAML::Exception& e) {
    return Status::Errorf("{}: {}", origin, e.what());
  }
  return catalog;
}

void merge_catalog(Catalog& base, const Catalog& extra) {
  for (const Device& d : extra.devices) {
    bool replaced = false;
    for (Device& old : base.devices) {
      if (old.id == d.id) {
        old = d;
        replaced = true;
      }
    }
    if (!replaced) base.devices.push_back(d);
  }
}

Expected<Catalog> load_catalog(const std::vector<std::string>& extra_files) {
  auto catalog = parse_catalog(embedded_catalog_yaml(), "built-in data/gpus.yaml");
  if (!catalog.ok()) return catalog.status();
  for (const std::string& path : extra_files) {
    std::ifstream in(path);
    if (!in) return Status::Errorf("--catalog {}: cannot read the file", path);
    std::stringstream buf;
    buf << in.rdbuf();
    auto extra = parse_catalog(buf.str(), path);
    if (!extra.ok()) return extra.status();
    merge_catalog(*catalog, *extra);
  }
  return catalog;
}

}  // namespace tenbin::planner
