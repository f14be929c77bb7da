#include <cmath>

#include <fmt/format.h>

#include "planner/report.h"

namespace tenbin::planner {
namespace {

std::string money(const std::optional<double>& v, int decimals = 2) {
  if (!v) return "-";
  return fmt::format("${:.{}f}", *v, decimals);
}

// Three significant digits, so small per-request costs stay readable.
std::string small_money(const std::optional<double>& v) {
  if (!v) return "-";
  if (*v >= 100) return fmt::format("${:.0f}", *v);
  return fmt::format("${:.3g}", *v);
}

std::string watts(double w) {
  return w > 0 ? fmt::format("{:.0f}W", w) : "-";
}

std::string ms(double v) {
  if (!std::isfinite(v)) return "inf";
  return v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v);
}

std::string describe_model(const ModelSpec& m) {
  std::string s =
      fmt::format("{} ({}, {:.2f} B params", m.name, model_kind_name(m.kind), m.params() / 1e9);
  if (m.kind != ModelKind::kVision) {
    s += fmt::format(", {} layers, hidden {}, {} heads / {} KV heads x {}", m.n_layer, m.n_embd,
                     m.n_head, m.n_head_kv, m.head_dim);
  } else {
    s += fmt::format(", {:g} GFLOPs per {}x{} image", m.gflops_per_image, m.image_size,
                     m.image_size);
  }
  if (m.kind == ModelKind::kDecoder) {
    s += fmt::format(", KV {:.0f} KiB/token", kv_bytes_per_token(m) / 1024.0);
  }
  return s + ")";
}

std::string describe_workload(const ModelSpec& m, const Workload& w) {
  if (m.kind == ModelKind::kDecoder) {
    return fmt::format("{}: {} concurrent requests, {} input + {} output tokens", w.kind,
                       w.concurrency, w.input_len, w.output_len);
  }
  if (m.kind == ModelKind::kVision) {
    return fmt::format("{}: {} concurrent requests, {}x{} images, batch up to {}", w.kind,
                       w.concurrency, w.image_size, w.image_size, w.batch);
  }
  return fmt::format("{}: {} concurrent requests of {} tokens, batch up to {}", w.kind,
                     w.concurrency, w.input_len, w.batch);
}

}  // namespace

std::string plan_to_text(const PlanRequest& r, const PlanResult& result, const ReportOptions& o) {
  const ModelSpec& m = r.model;
  const bool decoder = m.kind == ModelKind::kDecoder;
  std::string out;
  out += fmt::format("model:     {}\n", describe_model(m));
  out += fmt::format("           source: {}\n", m.source);
  out += fmt::format("workload:  {}\n", describe_workload(m, r.workload));
  out += fmt::format("SLO:       {}\n", describe_slo(r.slo));
  if (!o.calibration.empty()) out += fmt::format("efficiency: {}\n", o.calibration);
  out += "\n";

  const std::string header = fmt::format(
      "{:>3} {:<12} {:>3} {:>2} {:<11} {:>6} {:>7} {:>7} {:>6} {:>8} {:>9} {:>8} {:>7} {:>6} "
      "{:>9} {:>10} {:>9} {:>9}\n",
      "#", "gpu", "n", "tp", "quant", "batch", "wts GiB", "KV GiB", "act", "headroom",
      decoder ? "TTFT p99" : "p99 ms", decoder ? "TPOT ms" : "", "max c", "power", "$/hour",
      "purchase", "$/1K req", "$/1M tok");
  int shown = 0, accepted = 0;
  for (const PlanConfig& c : result.configs) accepted += c.accepted() ? 1 : 0;
  out += fmt::format(
      "{} of {} configurations meet every constraint (best first, by cost per 1K "
      "requests):\n",
      accepted, result.configs.size());
  out += header;
  for (const PlanConfig& c : result.configs) {
    if (!c.accepted()) break;
    if (!o.all && shown >= o.max_rows) {
      out += fmt::format("    ... {} more (--all shows them)\n", accepted - shown);
      break;
    }
    ++shown;
    const MemoryEstimate& mem = c.memory;
    out += fmt::format(
        "{:>3} {:<12} {:>3} {:>2} {:<11} {:>6} {:>7.1f} {:>7.1f} {:>6.1f} {:>8.1f} {:>9} {:>8} "
        "{:>7} {:>6} {:>9} {:>10} {:>9} {:>9}\n",
        shown, c.device->id, c.count, c.tensor_parallel, quant_label(r, c.quant), mem.max_batch,
        mem.weights_gib, mem.kv_cache_gib, mem.activations_gib, mem.headroom_gib,
        ms(decoder ? c.load.ttft_p99_ms : c.load.latency_p99_ms), decoder ? ms(c.load.tpot_ms) : "",
        c.max_concurrency, watts(c.power_w),
        money(c.price_per_hour_usd) + (c.price_basis == "purchase/3y+power" ? "*" : ""),
        money(c.purchase_usd, 0), small_money(c.cost_per_1k_requests_usd),
        small_money(c.cost_per_1m_tokens_usd));
  }
  if (accepted > 0) {
    out +=
        "  (n = GPUs, tp = tensor-parallel degree, batch = sequences the KV cache holds per "
        "replica, GiB per GPU, max c = largest concurrency meeting the SLO; $/hour: rental, "
        "* = purchase spread over 3 years + power at $0.15/kWh; $/1M tok: output tokens, "
        "input tokens for encoders)\n";
  }

  out += "\nruled out:\n";
  int rejected = 0;
  for (const PlanConfig& c : result.configs) {
    if (c.accepted()) continue;
    ++rejected;
    out += fmt::format("  {:<12} x{:<2} {:<11} {}\n", c.device->id, c.count,
                       quant_label(r, c.quant), c.rejected_because);
  }
  if (rejected == 0) out += "  nothing\n";

  for (const PlanConfig& c : result.configs) {
    if (!c.accepted()) continue;
    out += fmt::format("\nhost for #1 ({} x {}): {} vCPUs, {} GiB RAM, {} GB disk\n", c.count,
                       c.device->id, c.host.vcpus, c.host.ram_gib, c.host.disk_gib);
    for (const std::string& reason : c.host.reasons) out += "  - " + reason + "\n";
    break;
  }
  for (const std::string& n : result.notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace tenbin::planner
