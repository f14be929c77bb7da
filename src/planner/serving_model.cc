#include "planner/serving_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tenbin::planner {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

LoadPrediction predict_encoder(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                               const Workload& w, int64_t in_flight) {
  LoadPrediction p;
  const int64_t per_pass = std::min(in_flight, w.batch);
  p.running = per_pass;
  p.decode = encoder_pass(m, quant, g, per_pass, w.input_len, w.image_size);
  // Closed loop: the in-flight requests are served in passes of up to `batch`; the last one
  // waits for all passes before it.
  const double passes = std::ceil(static_cast<double>(in_flight) / per_pass);
  p.latency_p99_ms = passes * p.decode.seconds * 1000.0;
  p.ttft_p99_ms = p.latency_p99_ms;
  p.ttft_mean_ms = (passes + 1) / 2.0 * p.decode.seconds * 1000.0;
  p.requests_per_s = per_pass / p.decode.seconds;
  p.queued = in_flight - per_pass;
  return p;
}

}  // namespace

LoadPrediction predict_load(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                            const Workload& w, int64_t in_flight, int64_t max_batch) {
  if (m.kind != ModelKind::kDecoder) return predict_encoder(m, quant, g, w, in_flight);
  LoadPrediction p;
  p.running = std::max<int64_t>(1, std::min(in_flight, max_batch));
  p.queued = in_flight - p.running;
  const double context = w.input_len + w.output_len / 2.0;
  p.decode = decode_step(m, quant, g, p.running, context);
  p.prefill = prefill(m, quant, g, w.input_len);
  const double t_dec = p.decode.seconds;
  const double t_pf = p.prefill.seconds;
  const double out = static_cast<double>(w.output_len);

  // Fixed point: throughput X sets the prefill share rho = X t_pf; decode progresses in the
  // remaining (1 - rho) of the time; X = running / (time in service).
  double x = p.running / (t_pf + out * t_dec);
  // Only the other sequences' prefills interfere with a request: alone, it never waits.
  const double others = static_cast<double>(p.running - 1) / p.running;
  double rho = 0, tpot = t_dec, ttft_mean = t_pf, wait_p99 = 0;
  for (int i = 0; i < 200; ++i) {
    rho = std::min(x * t_pf * others, 0.999);
    tpot = t_dec / (1.0 - rho);
    // M/M/1 waiting time for the prefill: mean rho/(mu(1-rho)); P(W > t) = rho e^{-mu(1-rho)t}.
    const double mu = 1.0 / t_pf;
    const double wait_mean = rho / (mu * (1.0 - rho));
    wait_p99 = rho > 0.01 ? std::log(rho / 0.01) / (mu * (1.0 - rho)) : 0.0;
    // A new request waits for the running step unless it is alone.
    const double step_wait = p.running > 1 ? t_dec / 2.0 : 0.0;
    ttft_mean = t_pf + wait_mean + step_wait;
    const double service = ttft_mean + (out - 1.0) * tpot;
    const double next = p.running / service;
    if (std::abs(next - x) < 1e-9 * x) break;
    x = 0.5 * x + 0.5 * next;
  }
  p.prefill_share = std::min(x * t_pf, 1.0);
  p.saturated = x * t_pf * others >= 0.999;
  // Requests beyond the KV cache's capacity wait for a slot: queue length / throughput.
  const double slot_wait = p.queued > 0 ? p.queued / x : 0.0;
  p.tpot_ms = tpot * 1000.0;
  p.ttft_mean_ms = (ttft_mean + slot_wait) * 1000.0;
  p.ttft_p99_ms = (t_pf + wait_p99 + (p.running > 1 ? t_dec : 0.0) + slot_wait) * 1000.0;
  if (p.saturated) p.ttft_p99_ms = kInf;
  p.e2e_p99_ms = p.ttft_p99_ms + (out - 1.0) * p.tpot_ms;
  p.latency_p99_ms = p.e2e_p99_ms;
  p.requests_per_s = x;
  p.output_tokens_per_s = x * out;
  return p;
}

}  // namespace tenbin::planner
