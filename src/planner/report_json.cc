#include <cmath>

#include "planner/report.h"

namespace tenbin::planner {
namespace {

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? number_or_null(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::string quant_label(const PlanRequest& r, const std::string& quant) {
  return quant.empty() ? r.model.file_quant + " (file)" : quant;
}

nlohmann::json plan_to_json(const PlanRequest& r, const PlanResult& result,
                            const ReportOptions& o) {
  const ModelSpec& m = r.model;
  nlohmann::json j;
  j["model"] = {{"name", m.name},
                {"source", m.source},
                {"kind", std::string(model_kind_name(m.kind))},
                {"arch", m.arch},
                {"params", m.params()},
                {"layers", m.n_layer},
                {"hidden", m.n_embd},
                {"heads", m.n_head},
                {"kv_heads", m.n_head_kv},
                {"head_dim", m.head_dim},
                {"ffn", m.n_ff},
                {"vocab", m.n_vocab},
                {"context", m.n_ctx},
                {"kv_bytes_per_token", kv_bytes_per_token(m)},
                {"flops_per_token", flops_per_token(m, 0)},
                {"file_quant", m.file_quant}};
  if (m.kind == ModelKind::kVision) {
    j["model"]["gflops_per_image"] = m.gflops_per_image;
    j["model"]["image_size"] = m.image_size;
  }
  const Workload& w = r.workload;
  j["workload"] = {{"kind", w.kind},
                   {"concurrency", w.concurrency},
                   {"input_len", w.input_len},
                   {"output_len", m.kind == ModelKind::kDecoder ? w.output_len : 0},
                   {"batch", w.batch}};
  j["slo"] = nlohmann::json::object();
  if (r.slo.ttft_p99_ms) j["slo"]["ttft_p99_ms"] = *r.slo.ttft_p99_ms;
  if (r.slo.tpot_ms) j["slo"]["tpot_ms"] = *r.slo.tpot_ms;
  if (r.slo.p99_ms) j["slo"]["p99_ms"] = *r.slo.p99_ms;
  if (r.slo.e2e_p99_ms) j["slo"]["e2e_p99_ms"] = *r.slo.e2e_p99_ms;
  j["calibration"] = o.calibration;
  j["notes"] = result.notes;
  j["configs"] = nlohmann::json::array();
  for (const PlanConfig& c : result.configs) {
    const MemoryEstimate& mem = c.memory;
    nlohmann::json x = {
        {"gpu", c.device->id},
        {"gpu_name", c.device->name},
        {"count", c.count},
        {"tensor_parallel", c.tensor_parallel},
        {"replicas", c.replicas},
        {"quant", quant_label(r, c.quant)},
        {"weights_gib", mem.weights_gib},
        {"weights_total_gib", c.weights_file_gib},
        {"kv_cache_gib", mem.kv_cache_gib},
        {"kv_per_sequence_gib", mem.kv_per_sequence_gib},
        {"activations_gib", mem.activations_gib},
        {"runtime_overhead_gib", mem.overhead_gib},
        {"memory_per_gpu_gib", mem.capacity_gib},
        {"headroom_gib", mem.headroom_gib},
        {"max_batch", mem.max_batch},
        {"fits", mem.fits},
        {"ttft_ms", number_or_null(c.load.ttft_p99_ms)},
        {"ttft_mean_ms", number_or_null(c.load.ttft_mean_ms)},
        {"tpot_ms", c.load.tpot_ms},
        {"latency_p99_ms", number_or_null(c.load.latency_p99_ms)},
        {"requests_per_s", c.load.requests_per_s},
        {"output_tokens_per_s", c.load.output_tokens_per_s},
        {"decode_bound", c.load.decode.compute_bound() ? "compute" : "memory"},
        {"max_concurrency", c.max_concurrency},
        {"power_w", c.power_w > 0 ? nlohmann::json(c.power_w) : nlohmann::json(nullptr)},
        {"price_per_hour_usd", optional_number(c.price_per_hour_usd)},
        {"price_basis", c.price_basis},
        {"purchase_usd", optional_number(c.purchase_usd)},
        {"cost_per_1k_requests_usd", optional_number(c.cost_per_1k_requests_usd)},
        {"cost_per_1m_tokens_usd", optional_number(c.cost_per_1m_tokens_usd)},
        {"rejected_because", c.rejected_because},
        {"host",
         {{"vcpus", c.host.vcpus},
          {"ram_gib", c.host.ram_gib},
          {"disk_gb", c.host.disk_gib},
          {"reasons", c.host.reasons}}}};
    j["configs"].push_back(std::move(x));
  }
  return j;
}

}  // namespace tenbin::planner
