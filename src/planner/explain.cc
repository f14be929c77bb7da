#include "planner/explain.h"

#include <cmath>

#include <fmt/format.h>

#include "planner/quant_scheme.h"
#include "planner/report.h"

namespace tenbin::planner {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string bound(const StepCost& s) {
  return s.compute_bound() ? "compute-bound" : "memory-bound";
}

}  // namespace

std::string explain_config(const PlanRequest& r, const Catalog& catalog, const PlanConfig& c) {
  const ModelSpec& m = r.model;
  const Device& d = *c.device;
  const Workload& w = r.workload;
  const Efficiency e = efficiency_of(d, catalog);
  const DeviceGroup g{&d, c.tensor_parallel, e};
  const std::string q = effective_quant(m, c.quant);
  std::string out;
  out += fmt::format("{} on {} x {} (tensor parallel {}, {} replicas), {}\n\n", m.name, c.count,
                     d.name, c.tensor_parallel, c.replicas, quant_label(r, c.quant));

  const double peak = peak_flops(d, q);
  const double ceff = compute_efficiency(d, e, q);
  const double beff = bandwidth_efficiency(e, q);
  // "0.82 (shared 0.75 x 1.10 for q8_0)" when the calibration has factors for this type.
  const std::string type = kernel_type(q);
  const auto it = e.per_type.find(type);
  auto factor = [&](double effective, double multiplier) {
    if (it == e.per_type.end()) return fmt::format("{:.2f}", effective);
    return fmt::format("{:.2f} (shared {:.2f} x {:.2f} for {})", effective, effective / multiplier,
                       multiplier, type);
  };
  out += "device\n";
  out += fmt::format("  bandwidth {:.0f} GB/s x efficiency {} = {:.0f} GB/s\n", d.bandwidth_gbs,
                     factor(beff, it != e.per_type.end() ? it->second.bandwidth : 1.0),
                     d.bandwidth_gbs * beff);
  out += fmt::format("  peak {:.1f} TFLOP/s ({}) x efficiency {} = {:.1f} TFLOP/s\n", peak / 1e12,
                     d.is_cpu() ? (integer_scheme(q) ? "int8" : "f32") : "fp16",
                     factor(ceff, it != e.per_type.end() ? it->second.compute : 1.0),
                     peak * ceff / 1e12);
  if (!e.per_type.empty()) {
    std::string types;
    for (const auto& [t, f] : e.per_type) {
      types +=
          fmt::format("{}{} {:.2f}/{:.2f}", types.empty() ? "" : ", ", t, f.bandwidth, f.compute);
    }
    out += fmt::format(
        "  kernel multipliers per weight type (bandwidth/compute): {}; other types use the "
        "shared factors\n",
        types);
  }
  const double ridge = peak * ceff / (d.bandwidth_gbs * 1e9 * beff);
  out += fmt::format("  ridge point {:.0f} FLOPs/byte: steps above it are compute-bound\n", ridge);
  out += fmt::format("  per-step overhead {:.1f} ms\n\n", e.step_overhead_ms);

  const double wbytes = static_cast<double>(weight_bytes(m, c.quant));
  const double step_bytes = static_cast<double>(step_weight_bytes(m, c.quant));
  out += "model arithmetic\n";
  out += fmt::format(
      "  weights {:.2f} GiB ({:.2f} bits per weight over {:.3f} B params), "
      "{:.2f} GiB per GPU\n",
      wbytes / kGiB, 8.0 * wbytes / m.params(), m.params() / 1e9,
      wbytes / kGiB / c.tensor_parallel);
  if (m.kind != ModelKind::kVision) {
    out += fmt::format(
        "  read per forward step: {:.2f} GiB of weights (embedding rows are "
        "gathered, not streamed)\n",
        step_bytes / kGiB);
    out += fmt::format(
        "  FLOPs per token: {:.2f} GFLOP at position 0 (2 x matmul weights + "
        "logits) + {:.0f} FLOP per earlier position (attention)\n",
        flops_per_token(m, 0) / 1e9, 4.0 * m.q_dim() * m.n_layer);
  }
  if (m.kind == ModelKind::kDecoder) {
    out += fmt::format(
        "  KV cache per token: 2 x {} layers x {} KV heads x {} dims x 2 bytes = "
        "{:.0f} KiB\n\n",
        m.n_layer, m.n_head_kv, m.head_dim, kv_bytes_per_token(m) / 1024.0);
    const double ctx = w.input_len + w.output_len / 2.0;
    out += fmt::format("decode (batching effect; average context {:.0f} tokens)\n", ctx);
    out += fmt::format("  {:>6} {:>12} {:>12} {:>10} {:>10} {:>12} {:>14}\n", "batch", "MB/step",
                       "GFLOP/step", "FLOP/byte", "step ms", "tokens/s", "");
    for (int64_t b = 1; b <= std::max<int64_t>(1, c.memory.max_batch); b *= 2) {
      const StepCost s = decode_step(m, c.quant, g, b, ctx);
      out += fmt::format("  {:>6} {:>12.1f} {:>12.2f} {:>10.1f} {:>10.2f} {:>12.0f} {:>14}\n", b,
                         s.bytes / 1e6, s.flops / 1e9, s.flops / s.bytes, s.seconds * 1000,
                         b / s.seconds, bound(s));
      if (b * 2 > c.memory.max_batch && b != c.memory.max_batch && c.memory.max_batch > 1) {
        const StepCost t = decode_step(m, c.quant, g, c.memory.max_batch, ctx);
        out += fmt::format("  {:>6} {:>12.1f} {:>12.2f} {:>10.1f} {:>10.2f} {:>12.0f} {:>14}\n",
                           c.memory.max_batch, t.bytes / 1e6, t.flops / 1e9, t.flops / t.bytes,
                           t.seconds * 1000, c.memory.max_batch / t.seconds, bound(t));
      }
    }
    out +=
        "  weights are read once per step for the whole batch; each sequence adds its K/V "
        "rows, so tokens/s grows with the batch until the step turns compute-bound\n";
    const StepCost p = prefill(m, c.quant, g, w.input_len);
    out += fmt::format(
        "\nprefill of {} tokens: {:.2f} TFLOP (logits and last-layer MLP for the last token only), "
        "{:.1f} ms ({}; "
        "memory {:.1f} ms, compute {:.1f} ms, overhead {:.1f} ms, all-reduce {:.2f} ms)\n",
        w.input_len, p.flops / 1e12, p.seconds * 1000, bound(p), p.memory_s * 1000,
        p.compute_s * 1000, p.overhead_s * 1000, p.comm_s * 1000);
  } else {
    const StepCost s = encoder_pass(m, c.quant, g, w.batch, w.input_len, w.image_size);
    out += fmt::format("\nforward pass of batch {}: {:.1f} GFLOP, {:.1f} MB, {:.2f} ms ({})\n",
                       w.batch, s.flops / 1e9, s.bytes / 1e6, s.seconds * 1000, bound(s));
  }
  if (c.tensor_parallel > 1) {
    out += fmt::format(
        "tensor parallel: 2 all-reduces per layer over {} ({:.0f} GB/s per "
        "direction, {:.0f} us each)\n",
        d.interconnect.name, d.interconnect.gbs, d.interconnect.latency_us);
  }

  const MemoryEstimate& mem = c.memory;
  out += fmt::format("\nmemory per GPU ({:.0f} GiB x {:.2f} usable = {:.1f} GiB)\n",
                     mem.capacity_gib, catalog.memory_utilization, mem.usable_gib);
  out += fmt::format(
      "  weights {:.2f} + activations {:.2f} + runtime {:.2f} + KV {:.2f} "
      "({} sequences x {:.3f}) = {:.2f} GiB; headroom {:.2f} GiB\n",
      mem.weights_gib, mem.activations_gib, mem.overhead_gib, mem.kv_cache_gib,
      std::min<int64_t>(mem.max_batch, (w.concurrency + c.replicas - 1) / c.replicas),
      mem.kv_per_sequence_gib, mem.usable_gib - mem.headroom_gib, mem.headroom_gib);
  if (m.kind == ModelKind::kDecoder) {
    out += fmt::format("  max batch {} sequences of {} tokens (16-token blocks)\n", mem.max_batch,
                       w.input_len + w.output_len);
  }
  if (!mem.fits) {
    out += "\nruled out: " + c.rejected_because + "\n";
    return out;
  }
  const LoadPrediction& l = c.load;
  out += fmt::format("\nat {} requests in flight per replica\n",
                     (w.concurrency + c.replicas - 1) / c.replicas);
  if (m.kind == ModelKind::kDecoder) {
    out += fmt::format(
        "  {} decode together ({} wait for KV space); prefill takes {:.0f}% of "
        "the device\n",
        l.running, l.queued, 100 * l.prefill_share);
    out += fmt::format("  TPOT = step {:.2f} ms / (1 - {:.2f}) = {:.2f} ms\n",
                       l.decode.seconds * 1000, l.prefill_share, l.tpot_ms);
    out += fmt::format(
        "  TTFT mean {:.1f} ms, p99 {:.1f} ms (prefill + M/M/1 queueing + one "
        "step)\n",
        l.ttft_mean_ms, l.ttft_p99_ms);
  } else {
    out += fmt::format("  latency p99 {:.2f} ms\n", l.latency_p99_ms);
  }
  out += fmt::format("  throughput {:.2f} requests/s per replica", l.requests_per_s);
  if (c.cost_per_1k_requests_usd) {
    out += fmt::format("; ${:.4f} per 1K requests at ${:.2f}/h", *c.cost_per_1k_requests_usd,
                       *c.price_per_hour_usd);
  }
  out += "\n";
  out += c.accepted() ? "  meets every constraint\n" : "  ruled out: " + c.rejected_because + "\n";
  return out;
}

}  // namespace tenbin::planner
