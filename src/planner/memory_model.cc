#include "planner/memory_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tenbin::planner {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Live activations of the largest step, fp16: the residual stream and its normed copy,
// Q/K/V, attention output, the MLP's gate and up (split by tensor parallelism), plus f32
// logits for the sequences that sample.
double decoder_activation_bytes(const ModelSpec& m, int tp, const MemoryAssumptions& a) {
  const double t = static_cast<double>(a.prefill_chunk_tokens);
  const double per_token = 3.0 * m.n_embd + (m.q_dim() + 2.0 * m.kv_dim()) / tp + 2.0 * m.n_ff / tp;
  const double logits = static_cast<double>(a.max_num_seqs) * m.n_vocab * 4.0 / tp;
  return t * per_token * 2.0 + logits;
}

// Encoders: hidden states, the MLP's intermediate and the attention score matrices of a batch.
double encoder_activation_bytes(const ModelSpec& m, const Workload& w, int tp) {
  const double tokens = static_cast<double>(w.batch) * w.input_len;
  const double per_token = 4.0 * m.n_embd + static_cast<double>(m.n_ff) / tp;
  const double scores = static_cast<double>(w.batch) * m.n_head / tp * w.input_len * w.input_len;
  return (tokens * per_token + scores) * 2.0;
}

}  // namespace

MemoryEstimate estimate_memory(const ModelSpec& m, const std::string& quant, const Device& d,
                               double memory_utilization, const Workload& w, int tp,
                               int64_t in_flight, const MemoryAssumptions& a) {
  MemoryEstimate e;
  e.capacity_gib = d.memory_gib;
  e.usable_gib = d.memory_gib * memory_utilization;
  e.weights_gib = static_cast<double>(weight_bytes(m, quant)) / tp / kGiB;
  e.overhead_gib = d.runtime_overhead_gib;
  const double fixed_before_kv = e.weights_gib + e.overhead_gib;

  if (m.kind == ModelKind::kDecoder) {
    e.activations_gib = decoder_activation_bytes(m, tp, a) / kGiB;
    const int64_t tokens = w.input_len + w.output_len;
    const int64_t blocks = (tokens + a.block_tokens - 1) / a.block_tokens;
    const double kv_heads_per_device = std::ceil(static_cast<double>(m.n_head_kv) / tp);
    const double kv_token =
        2.0 * m.n_layer * kv_heads_per_device * m.head_dim * a.kv_bytes_per_element;
    e.kv_per_sequence_gib = blocks * a.block_tokens * kv_token / kGiB;
    const double kv_budget = e.usable_gib - fixed_before_kv - e.activations_gib;
    e.max_batch = kv_budget > 0 ? static_cast<int64_t>(kv_budget / e.kv_per_sequence_gib) : 0;
    e.max_batch = std::min(e.max_batch, a.max_num_seqs);
    e.kv_cache_gib = std::min(in_flight, e.max_batch) * e.kv_per_sequence_gib;
    if (m.n_ctx > 0 && tokens > m.n_ctx) {
      e.why_not = fmt::format("input + output = {} tokens exceed the model's context of {}", tokens,
                              m.n_ctx);
    } else if (e.max_batch < 1) {
      e.why_not = fmt::format(
          "memory: weights {:.1f} + activations {:.1f} + runtime {:.1f} + one sequence's KV "
          "{:.2f} GiB > {:.1f} GiB usable per device",
          e.weights_gib, e.activations_gib, e.overhead_gib, e.kv_per_sequence_gib, e.usable_gib);
    }
  } else {
    const double per_request =
        m.kind == ModelKind::kVision
            ? m.activation_bytes_per_image / 4.0 *
                  std::pow(static_cast<double>(w.image_size) / m.image_size, 2.0) / kGiB
            : encoder_activation_bytes(m, Workload{.input_len = w.input_len, .batch = 1}, tp) /
                  kGiB;
    e.activations_gib = per_request * w.batch;
    const double budget = e.usable_gib - fixed_before_kv;
    e.max_batch = budget > 0 ? static_cast<int64_t>(budget / per_request) : 0;
    if (e.activations_gib > budget) {
      e.why_not = fmt::format(
          "memory: weights {:.1f} + activations of batch {} {:.1f} + runtime {:.1f} GiB > {:.1f} "
          "GiB usable per device",
          e.weights_gib, w.batch, e.activations_gib, e.overhead_gib, e.usable_gib);
    }
    if (m.kind == ModelKind::kEncoder && m.n_ctx > 0 && w.input_len > m.n_ctx) {
      e.why_not =
          fmt::format("input of {} tokens exceeds the model's {} positions", w.input_len, m.n_ctx);
    }
  }
  e.headroom_gib = e.usable_gib - fixed_before_kv - e.activations_gib - e.kv_cache_gib;
  e.fits = e.why_not.empty();
  return e;
}

}  // namespace tenbin::planner
