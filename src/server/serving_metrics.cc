#include "server/serving_metrics.h"

namespace tenbin::server {
namespace {

template <class T>
Status assign(Expected<T*> made, T** out) {
  if (!made.ok()) return made.status();
  *out = *made;
  return Status::Ok();
}

}  // namespace

Expected<std::unique_ptr<ServingMetrics>> ServingMetrics::create(const std::string& model_name) {
  std::unique_ptr<ServingMetrics> m(new ServingMetrics());
  m->model_ = model_name;
  prometheus::Registry& r = m->registry_;
  const prometheus::Labels model = {{"model_name", model_name}};
  const auto latency = prometheus::default_latency_buckets();
  TENBIN_RETURN_IF_ERROR(
      assign(r.histogram("tenbin_time_to_first_token_seconds",
                         "Time from request arrival to its first token", latency, model),
             &m->ttft_));
  TENBIN_RETURN_IF_ERROR(
      assign(r.histogram("tenbin_inter_token_latency_seconds",
                         "Time between consecutive tokens of a request", latency, model),
             &m->itl_));
  TENBIN_RETURN_IF_ERROR(
      assign(r.histogram("tenbin_e2e_request_latency_seconds",
                         "Time from request arrival to its last token", latency, model),
             &m->e2e_));
  TENBIN_RETURN_IF_ERROR(
      assign(r.histogram("tenbin_request_queue_time_seconds",
                         "Time a request waited before its first engine step", latency, model),
             &m->queue_));
  TENBIN_RETURN_IF_ERROR(
      assign(r.gauge("tenbin_num_requests_running", "Requests in the running batch", model),
             &m->running_));
  TENBIN_RETURN_IF_ERROR(
      assign(r.gauge("tenbin_num_requests_waiting", "Requests waiting to be scheduled", model),
             &m->waiting_));
  TENBIN_RETURN_IF_ERROR(
      assign(r.gauge("tenbin_kv_cache_usage_ratio", "Fraction of KV-cache blocks in use", model),
             &m->kv_usage_));
  TENBIN_RETURN_IF_ERROR(assign(r.counter("tenbin_prompt_tokens_total",
                                          "Prompt tokens computed (prefix hits excluded)", model),
                                &m->prompt_tokens_));
  TENBIN_RETURN_IF_ERROR(
      assign(r.counter("tenbin_generation_tokens_total", "Tokens generated", model),
             &m->generation_tokens_));
  TENBIN_RETURN_IF_ERROR(assign(r.counter("tenbin_prefix_cache_queries_total",
                                          "Prompt tokens looked up in the prefix cache", model),
                                &m->prefix_queries_));
  TENBIN_RETURN_IF_ERROR(assign(r.counter("tenbin_prefix_cache_hits_total",
                                          "Prompt tokens served from the prefix cache", model),
                                &m->prefix_hits_));
  TENBIN_RETURN_IF_ERROR(
      assign(r.counter("tenbin_num_preemptions_total", "Sequences preempted for recompute", model),
             &m->preemptions_));
  for (const char* outcome : {"stop", "length", "cancelled", "error", "rejected"}) {
    auto c = r.counter("tenbin_requests_total", "Finished requests by outcome",
                       {{"model_name", model_name}, {"outcome", outcome}});
    if (!c.ok()) return c.status();
  }
  m->open_gpu_metrics();
  return m;
}

void ServingMetrics::open_gpu_metrics() {
  auto reader = nvml::NvmlReader::open();
  if (!reader.ok()) {
    gpu_status_ = "GPU metrics off: " + reader.status().message();
    return;
  }
  if ((*reader)->device_count() == 0) {
    gpu_status_ = fmt::format("GPU metrics off: NVML ({}) reports no GPU", (*reader)->library());
    return;
  }
  auto samples = (*reader)->read();
  auto gauges = std::make_unique<nvml::GpuGauges>(registry_);
  Status registered = samples.ok() ? gauges->update(*samples) : samples.status();
  if (!registered.ok()) {
    gauges->invalidate();  // anything registered before the failure shows NaN, not a stale value
    gpu_status_ = "GPU metrics off: " + registered.message();
    return;
  }
  gpu_status_ = fmt::format("GPU metrics: {} GPU(s) through NVML ({})", (*reader)->device_count(),
                            (*reader)->library());
  nvml_ = std::move(*reader);
  gpu_gauges_ = std::move(gauges);
}

void ServingMetrics::observe_request(const char* outcome) {
  auto c = registry_.counter("tenbin_requests_total", "Finished requests by outcome",
                             {{"model_name", model_}, {"outcome", outcome}});
  if (c.ok()) (*c)->inc();
}

std::string ServingMetrics::render(const EngineStats& s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_->set(static_cast<double>(s.running));
    waiting_->set(static_cast<double>(s.waiting));
    kv_usage_->set(s.kv_usage);
    prompt_tokens_->inc(static_cast<double>(s.prompt_tokens - last_.prompt_tokens));
    generation_tokens_->inc(static_cast<double>(s.generated_tokens - last_.generated_tokens));
    prefix_queries_->inc(static_cast<double>(s.prefix_query_tokens - last_.prefix_query_tokens));
    prefix_hits_->inc(static_cast<double>(s.prefix_hit_tokens - last_.prefix_hit_tokens));
    preemptions_->inc(static_cast<double>(s.preemptions - last_.preemptions));
    last_ = s;
    if (nvml_) {
      auto samples = nvml_->read();
      if (!samples.ok() || !gpu_gauges_->update(*samples).ok()) gpu_gauges_->invalidate();
    }
  }
  return registry_.expose();
}

}  // namespace tenbin::server
