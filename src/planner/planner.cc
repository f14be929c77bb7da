#include "planner/planner.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "planner/quant_scheme.h"

namespace tenbin::planner {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kAmortizationHours = 3 * 8760.0;  // three years, always on
constexpr double kPowerUsdPerKwh = 0.15;

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// The objectives a prediction misses, as "ttft_p99 812 ms > 500 ms"; empty when all are met.
std::string slo_misses(const Slo& slo, const LoadPrediction& p, ModelKind kind) {
  std::vector<std::string> out;
  auto check = [&](const char* name, const std::optional<double>& limit, double value) {
    if (limit && !(value <= *limit)) {
      out.push_back(std::isfinite(value)
                        ? fmt::format("{} {:.0f} ms > {:g} ms", name, value, *limit)
                        : fmt::format("{} unbounded (prefill alone saturates the device)", name));
    }
  };
  if (kind == ModelKind::kDecoder) {
    check("ttft_p99", slo.ttft_p99_ms, p.ttft_p99_ms);
    check("tpot", slo.tpot_ms, p.tpot_ms);
    check("e2e_p99", slo.e2e_p99_ms, p.e2e_p99_ms);
    check("e2e_p99", slo.p99_ms, p.e2e_p99_ms);
  } else {
    check("p99", slo.p99_ms, p.latency_p99_ms);
    check("p99", slo.ttft_p99_ms, p.latency_p99_ms);
  }
  return join(out, ", ");
}

int64_t per_replica(int64_t concurrency, int replicas) {
  return (concurrency + replicas - 1) / replicas;
}

// The largest total concurrency whose prediction still meets the SLOs (0: not even one).
int64_t max_concurrency(const PlanRequest& r, const DeviceGroup& g, const std::string& quant,
                        const Catalog& catalog, int replicas) {
  auto meets = [&](int64_t n) {
    Workload w = r.workload;
    w.concurrency = n;
    const int64_t each = per_replica(n, replicas);
    const MemoryEstimate mem =
        estimate_memory(r.model, quant, *g.device, catalog.memory_utilization, w, g.tp, each);
    if (!mem.fits) return false;
    const LoadPrediction p = predict_load(r.model, quant, g, w, each, mem.max_batch);
    return slo_misses(r.slo, p, r.model.kind).empty();
  };
  if (!meets(1)) return 0;
  // Decoders: beyond what the KV caches hold at once, requests only queue; that is the
  // ceiling even when no objective bounds the queueing.
  int64_t cap = int64_t{1} << 16;
  if (r.model.kind == ModelKind::kDecoder) {
    Workload w = r.workload;
    const MemoryEstimate mem =
        estimate_memory(r.model, quant, *g.device, catalog.memory_utilization, w, g.tp, 1);
    cap = std::max<int64_t>(1, mem.max_batch) * replicas;
  }
  if (meets(cap)) return cap;
  int64_t lo = 1, hi = 2;
  while (hi < cap && meets(hi)) {
    lo = hi;
    hi *= 2;
  }
  hi = std::min(hi, cap);
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (meets(mid) ? lo : hi) = mid;
  }
  return lo;
}

std::string limit_misses(const Constraints& c, const PlanConfig& p) {
  std::vector<std::string> out;
  if (c.max_power_w) {
    if (p.power_w <= 0) {
      out.push_back("power: TDP unknown in the catalog");
    } else if (p.power_w > *c.max_power_w) {
      out.push_back(fmt::format("power {:.0f} W > {:g} W", p.power_w, *c.max_power_w));
    }
  }
  if (c.max_budget_usd) {
    if (!p.purchase_usd) {
      out.push_back("budget: no purchase price in the catalog");
    } else if (*p.purchase_usd > *c.max_budget_usd) {
      out.push_back(fmt::format("budget ${:.0f} > ${:g}", *p.purchase_usd, *c.max_budget_usd));
    }
  }
  if (c.max_price_hour) {
    if (!p.price_per_hour_usd) {
      out.push_back("price: none in the catalog");
    } else if (*p.price_per_hour_usd > *c.max_price_hour) {
      out.push_back(
          fmt::format("price ${:.2f}/h > ${:g}/h", *p.price_per_hour_usd, *c.max_price_hour));
    }
  }
  return join(out, ", ");
}

std::vector<std::string> default_quants(const ModelSpec& m) {
  if (!m.file_quant.empty()) return {""};  // the file as stored
  if (m.kind == ModelKind::kDecoder) return {"f16", "q8_0", "q4_k_m", "q4_0"};
  return {"f16", "q8_0"};
}

std::vector<int> tp_options(const ModelSpec& m, const Device& d, const Constraints& c) {
  std::vector<int> out{1};
  if (d.is_cpu() || m.kind != ModelKind::kDecoder) return out;
  for (int tp = 2; tp <= std::min(d.max_per_node, c.max_devices); tp *= 2) {
    if (m.n_head % tp == 0) out.push_back(tp);
  }
  return out;
}

bool better(const PlanConfig& a, const PlanConfig& b) {
  if (a.accepted() != b.accepted()) return a.accepted();
  if (!a.accepted()) return false;  // rejected keep their order
  const double ca = a.cost_per_1k_requests_usd.value_or(INFINITY);
  const double cb = b.cost_per_1k_requests_usd.value_or(INFINITY);
  if (ca != cb) return ca < cb;
  return a.load.ttft_p99_ms < b.load.ttft_p99_ms;
}

}  // namespace

Efficiency efficiency_of(const Device& d, const Catalog& catalog) {
  return d.efficiency.value_or(catalog.default_gpu_efficiency);
}

PlanConfig evaluate_config(const PlanRequest& r, const Catalog& catalog, const Device& d,
                           const std::string& quant, int tp, int replicas) {
  PlanConfig c;
  c.device = &d;
  c.tensor_parallel = tp;
  c.replicas = replicas;
  c.count = tp * replicas;
  c.quant = quant;
  const Workload& w = r.workload;
  const int64_t each = per_replica(w.concurrency, replicas);
  c.weights_file_gib = static_cast<double>(weight_bytes(r.model, quant)) / kGiB;
  c.memory = estimate_memory(r.model, quant, d, catalog.memory_utilization, w, tp, each);
  c.power_w = d.tdp_w > 0 ? d.tdp_w * c.count : 0;
  if (d.price_purchase_usd) c.purchase_usd = *d.price_purchase_usd * c.count;
  if (d.price_hour_usd) {
    c.price_per_hour_usd = *d.price_hour_usd * c.count;
    c.price_basis = "rental";
  } else if (c.purchase_usd) {
    c.price_per_hour_usd =
        *c.purchase_usd / kAmortizationHours + c.power_w / 1000.0 * kPowerUsdPerKwh;
    c.price_basis = "purchase/3y+power";
  }
  c.host = size_host(c.count, d.memory_gib, c.weights_file_gib, d.is_cpu());
  if (!c.memory.fits) {
    c.rejected_because = c.memory.why_not;
    return c;
  }
  const DeviceGroup g{&d, tp, efficiency_of(d, catalog)};
  c.load = predict_load(r.model, quant, g, w, each, c.memory.max_batch);
  const double rps = c.load.requests_per_s * replicas;
  const double tokens_per_request = r.model.kind == ModelKind::kDecoder
                                        ? static_cast<double>(w.output_len)
                                        : static_cast<double>(w.input_len);
  if (c.price_per_hour_usd && rps > 0) {
    c.cost_per_1k_requests_usd = *c.price_per_hour_usd / (rps * 3600.0) * 1000.0;
    c.cost_per_1m_tokens_usd = *c.price_per_hour_usd / (rps * tokens_per_request * 3600.0) * 1e6;
  }
  c.max_concurrency = max_concurrency(r, g, quant, catalog, replicas);
  std::string slo = slo_misses(r.slo, c.load, r.model.kind);
  if (!slo.empty() && c.load.queued > 0) {
    slo += fmt::format(" (KV cache holds {} sequences per replica; {} wait)", c.memory.max_batch,
                       c.load.queued);
  }
  c.rejected_because = join({slo, limit_misses(r.constraints, c)}, "; ");
  return c;
}

Expected<PlanResult> run_plan(const PlanRequest& r, const Catalog& catalog) {
  PlanResult result;
  const Constraints& k = r.constraints;
  result.quants = k.quants.empty() ? default_quants(r.model) : k.quants;
  for (const std::string& q : result.quants) {
    if (!q.empty() && !is_quant_scheme(q)) {
      return Status::Errorf("--quant: unknown scheme '{}' (known: {})", q,
                            join(quant_scheme_names(), ", "));
    }
  }
  std::vector<const Device*> devices;
  if (k.devices.empty()) {
    for (const Device& d : catalog.devices) {
      if (!d.is_cpu()) devices.push_back(&d);
    }
    result.notes.push_back("CPU entries are left out unless named with --gpus");
  } else {
    for (const std::string& id : k.devices) {
      const Device* d = catalog.find(id);
      if (d == nullptr) {
        std::vector<std::string> ids;
        for (const Device& x : catalog.devices) ids.push_back(x.id);
        return Status::Errorf("--gpus: no device '{}' in the catalog (known: {})", id,
                              join(ids, ", "));
      }
      devices.push_back(d);
    }
  }

  // Per device and quantization: every tensor-parallel degree that meets everything (with the
  // fewest replicas that do), or else one rejected row: the smallest degree that fits in memory
  // (its SLO or limit reason says most), failing that the largest degree tried.
  for (const Device* d : devices) {
    for (const std::string& q : result.quants) {
      std::vector<PlanConfig> accepted;
      std::optional<PlanConfig> first_rejected;
      for (int tp : tp_options(r.model, *d, k)) {
        const int max_replicas = std::max(1, std::min(d->max_per_node, k.max_devices) / tp);
        PlanConfig one = evaluate_config(r, catalog, *d, q, tp, 1);
        if (!one.memory.fits) {
          if (!first_rejected || !first_rejected->memory.fits) first_rejected = one;
          continue;
        }
        std::optional<PlanConfig> found;
        PlanConfig last = one;
        for (int rep = 1; rep <= max_replicas; ++rep) {
          PlanConfig c = rep == 1 ? one : evaluate_config(r, catalog, *d, q, tp, rep);
          last = c;
          if (c.accepted()) {
            found = c;
            break;
          }
          if (!limit_misses(k, c).empty()) break;  // more devices only cost more
        }
        if (found) {
          accepted.push_back(*found);
        } else {
          if (last.replicas > 1) {
            one.rejected_because += fmt::format("; with {} replicas ({} devices): {}",
                                                last.replicas, last.count, last.rejected_because);
          }
          if (!first_rejected || !first_rejected->memory.fits) first_rejected = one;
        }
      }
      if (!accepted.empty()) {
        for (PlanConfig& c : accepted) result.configs.push_back(std::move(c));
      } else if (first_rejected) {
        result.configs.push_back(std::move(*first_rejected));
      }
    }
  }
  std::stable_sort(result.configs.begin(), result.configs.end(), better);
  return result;
}

}  // namespace tenbin::planner
