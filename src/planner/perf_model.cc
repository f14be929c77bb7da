#include "planner/perf_model.h"

#include <algorithm>
#include <cmath>

#include "planner/quant_scheme.h"

namespace tenbin::planner {

std::string effective_quant(const ModelSpec& m, const std::string& quant) {
  return quant.empty() ? m.file_quant : quant;
}

double peak_flops(const Device& d, const std::string& quant) {
  if (d.is_cpu()) {
    return (integer_scheme(quant) ? d.int8_tops : d.fp32_tflops) * 1e12;
  }
  return d.fp16_tflops * 1e12;
}

namespace {

const TypeEfficiency* type_efficiency(const Efficiency& e, const std::string& quant) {
  if (e.per_type.empty()) return nullptr;
  const auto it = e.per_type.find(kernel_type(quant));
  return it != e.per_type.end() ? &it->second : nullptr;
}

}  // namespace

double compute_efficiency(const Device& d, const Efficiency& e, const std::string& quant) {
  const double shared =
      d.is_cpu() && integer_scheme(quant) && e.compute_int8 ? *e.compute_int8 : e.compute;
  const TypeEfficiency* t = type_efficiency(e, quant);
  return t != nullptr ? shared * t->compute : shared;
}

double bandwidth_efficiency(const Efficiency& e, const std::string& quant) {
  const TypeEfficiency* t = type_efficiency(e, quant);
  return t != nullptr ? e.bandwidth * t->bandwidth : e.bandwidth;
}

StepCost roofline(const DeviceGroup& g, const std::string& quant, double bytes, double flops,
                  double comm_tokens, int64_t n_layer, int64_t n_embd) {
  const Device& d = *g.device;
  StepCost c;
  c.bytes = bytes;
  c.flops = flops;
  c.memory_s = bytes / (d.bandwidth_gbs * 1e9 * bandwidth_efficiency(g.efficiency, quant));
  const double peak = peak_flops(d, quant) * compute_efficiency(d, g.efficiency, quant);
  c.compute_s = peak > 0 ? flops / peak : 0;
  c.overhead_s = g.efficiency.step_overhead_ms / 1000.0;
  if (g.tp > 1 && d.interconnect.gbs > 0) {
    // Two ring all-reduces per layer (after attention and after the MLP) of fp16 activations.
    const double payload = comm_tokens * n_embd * 2.0;
    const double ring = 2.0 * (g.tp - 1) / g.tp * payload / (d.interconnect.gbs * 1e9);
    c.comm_s = 2.0 * n_layer * (ring + d.interconnect.latency_us * 1e-6);
  }
  c.seconds = std::max(c.memory_s, c.compute_s) + c.comm_s + c.overhead_s;
  return c;
}

StepCost decode_step(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                     int64_t batch, double context) {
  const std::string q = effective_quant(m, quant);
  const double kv_heads_per_device = std::ceil(static_cast<double>(m.n_head_kv) / g.tp);
  const double kv_row = kv_bytes_per_token(m) * kv_heads_per_device / m.n_head_kv;
  const double bytes =
      static_cast<double>(step_weight_bytes(m, quant)) / g.tp + batch * kv_row * context;
  const double flops = batch * flops_per_token(m, context) / g.tp;
  return roofline(g, q, bytes, flops, static_cast<double>(batch), m.n_layer, m.n_embd);
}

StepCost prefill(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                 int64_t tokens) {
  const std::string q = effective_quant(m, quant);
  const double bytes = static_cast<double>(step_weight_bytes(m, quant)) / g.tp;
  const double flops = prefill_flops(m, tokens) / g.tp;
  return roofline(g, q, bytes, flops, static_cast<double>(tokens), m.n_layer, m.n_embd);
}

StepCost encoder_pass(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                      int64_t batch, int64_t tokens, int64_t image_size) {
  const std::string q = effective_quant(m, quant);
  if (m.kind == ModelKind::kVision) {
    const double scale = std::pow(static_cast<double>(image_size) / m.image_size, 2.0);
    const double flops = batch * m.gflops_per_image * 1e9 * scale / g.tp;
    const double bytes = static_cast<double>(weight_bytes(m, quant)) / g.tp +
                         batch * m.activation_bytes_per_image * scale / g.tp;
    return roofline(g, q, bytes, flops, 0, 0, 0);
  }
  // Every token attends to all `tokens` positions (bidirectional): pos + 1 = tokens.
  const double flops = batch * tokens * flops_per_token(m, tokens - 1.0) / g.tp;
  const double bytes = static_cast<double>(step_weight_bytes(m, quant)) / g.tp;
  return roofline(g, q, bytes, flops, static_cast<double>(batch * tokens), m.n_layer, m.n_embd);
}

}  // namespace tenbin::planner
