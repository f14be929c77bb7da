#include "engine/perf_runner.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "kernels/kv_layout.h"

namespace tenbin {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void summarize(std::vector<double> rates, PerfResult& r) {
  std::sort(rates.begin(), rates.end());
  r.tokens_per_s = rates[rates.size() / 2];
  r.tokens_per_s_min = rates.front();
  r.tokens_per_s_max = rates.back();
}

// Attaches a profile to the model's backend for the measured repetitions of one test.
class ProfileScope {
 public:
  ProfileScope(LlamaModel& model, bool enabled) : model_(model), enabled_(enabled) {}
  ~ProfileScope() {
    if (attached_) model_.backend().set_op_profile(nullptr);
  }
  Status attach() {
    if (!enabled_ || attached_) return Status::Ok();
    if (!model_.backend().set_op_profile(&profile_)) {
      return Status::Errorf("--profile: the {} backend cannot time its ops",
                            model_.backend().name());
    }
    attached_ = true;
    return Status::Ok();
  }
  void fill(PerfResult& r, double seconds, int64_t tokens) const {
    if (!enabled_) return;
    r.profile = profile_;
    r.measured_seconds = seconds;
    r.measured_tokens = tokens;
  }

 private:
  LlamaModel& model_;
  bool enabled_;
  bool attached_ = false;
  backend::OpProfile profile_;
};

}  // namespace

bool integer_kernels(DType type) {
  return type != DType::kF32 && type != DType::kF16 && type != DType::kBF16;
}

PrefillPeak prefill_peak(const kernels::MachineLimits& limits, DType weight_type) {
  if (limits.peak_matmul_gflops > 0) return {"peak_matmul_gflops", limits.peak_matmul_gflops};
  if (integer_kernels(weight_type)) return {"peak_int8_gops", limits.peak_int8_gops};
  if (weight_type == DType::kBF16 && limits.peak_bf16_gflops > 0) {
    return {"peak_bf16_gflops", limits.peak_bf16_gflops};
  }
  return {"peak_f32_gflops", limits.peak_f32_gflops};
}

double flops_per_token(const ModelConfig& c, double pos) {
  const double per_layer_matmul =
      2.0 * c.n_embd * (c.q_dim() + 2.0 * c.kv_dim() + c.q_dim()) + 2.0 * 3.0 * c.n_embd * c.n_ff;
  const double per_layer_attention = 2.0 * 2.0 * c.q_dim() * (pos + 1);  // QK^T and PV
  return c.n_layer * (per_layer_matmul + per_layer_attention) + 2.0 * c.n_embd * c.n_vocab;
}

double output_only_flops(const ModelConfig& c) {
  return 2.0 * c.n_embd * c.q_dim() + 2.0 * 3.0 * c.n_embd * c.n_ff + 2.0 * c.n_embd * c.n_vocab;
}

double decode_bytes_per_token(const LlamaModel& model, double pos, DType kv_type) {
  const ModelConfig& c = model.config();
  const double kv_bytes =
      2.0 * c.n_layer * static_cast<double>(kernels::kv_bytes(kv_type, c.kv_dim())) * (pos + 1);
  return static_cast<double>(model.weight_bytes()) + kv_bytes;
}

Expected<std::vector<PerfResult>> run_perf(LlamaModel& model, ThreadPool& pool,
                                           kernels::MachineLimits& limits,
                                           const PerfOptions& options,
                                           const std::function<double()>& reprobe_bandwidth) {
  const ModelConfig& c = model.config();
  const int64_t depth = std::max<int32_t>(options.depth, 0);
  // Positions the tests use: [0, depth + the longer test).
  const int64_t positions =
      depth + std::max<int64_t>(options.prompt_tokens, options.generate_tokens);
  if (positions > c.n_ctx_train) {
    return Status::Errorf("depth {} + test tokens exceed the model's context of {} tokens", depth,
                          c.n_ctx_train);
  }
  const int64_t n_ctx = positions + 1;
  auto cache = model.make_kv_cache(KvCache::blocks_for(n_ctx), options.kv_type);
  if (!cache.ok()) return cache.status();
  const std::vector<int32_t> table = contiguous_block_table(n_ctx, cache->block_size());
  std::mt19937 rng(static_cast<uint32_t>(options.seed));
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(c.n_vocab - 1));
  const DType weight_type = model.layers_weight_type();
  std::vector<PerfResult> results;

  // The context the tests start from: positions [0, depth) filled once in prompt-sized
  // chunks. Tests write only positions >= depth, so every repetition sees the same cache.
  constexpr int64_t kDepthChunk = 512;
  for (int64_t p0 = 0; p0 < depth; p0 += kDepthChunk) {
    Batch fill;
    const int32_t seq = fill.add_block_table(table);
    const int64_t p1 = std::min(depth, p0 + kDepthChunk);
    for (int64_t p = p0; p < p1; ++p) {
      fill.add(token(rng), static_cast<int32_t>(p), seq, p + 1 == p1);
    }
    auto out = model.forward(fill, *cache, pool);
    if (!out.ok()) return out.status();
  }

  if (options.prompt_tokens > 0) {
    PerfResult r;
    r.test = "pp" + std::to_string(options.prompt_tokens);
    r.threads = pool.size();
    r.depth = static_cast<int32_t>(depth);
    Batch batch;
    const int32_t seq = batch.add_block_table(table);
    for (int32_t i = 0; i < options.prompt_tokens; ++i) {
      batch.add(token(rng), static_cast<int32_t>(depth + i), seq, i + 1 == options.prompt_tokens);
    }
    std::vector<double> rates;
    ProfileScope profile(model, options.profile);
    double measured = 0;
    for (int rep = 0; rep < options.repetitions + 1; ++rep) {  // first run warms up
      if (rep == 1) {
        if (Status st = profile.attach(); !st.ok()) return st;
      }
      auto start = std::chrono::steady_clock::now();
      auto out = model.forward(batch, *cache, pool);
      if (!out.ok()) return out.status();
      if (rep > 0) {
        const double secs = seconds_since(start);
        measured += secs;
        rates.push_back(options.prompt_tokens / secs);
      }
    }
    summarize(rates, r);
    profile.fill(r, measured, int64_t{options.repetitions} * options.prompt_tokens);
    const double mid = depth + options.prompt_tokens / 2.0;
    r.flops_per_token = flops_per_token(c, mid);
    const double n = options.prompt_tokens;
    r.executed_flops_per_token = r.flops_per_token - (n - 1) / n * output_only_flops(c);
    r.bytes_per_token = static_cast<double>(model.weight_bytes()) / options.prompt_tokens;
    const PrefillPeak peak_of_type = prefill_peak(limits, weight_type);
    r.limit = peak_of_type.name;
    const double peak = peak_of_type.value;
    r.fraction_of_limit = peak > 0 ? r.tokens_per_s * r.executed_flops_per_token / (peak * 1e9) : 0;
    results.push_back(r);
  }

  if (options.generate_tokens > 0) {
    PerfResult r;
    r.test = "tg" + std::to_string(options.generate_tokens);
    r.threads = pool.size();
    r.depth = static_cast<int32_t>(depth);
    std::vector<double> rates;
    ProfileScope profile(model, options.profile);
    double measured = 0;
    for (int rep = 0; rep < options.repetitions + 1; ++rep) {
      if (rep == 1) {
        if (Status st = profile.attach(); !st.ok()) return st;
      }
      auto start = std::chrono::steady_clock::now();
      for (int32_t i = 0; i < options.generate_tokens; ++i) {
        Batch step;
        step.add(token(rng), static_cast<int32_t>(depth + i), step.add_block_table(table), true);
        auto out = model.forward(step, *cache, pool);
        if (!out.ok()) return out.status();
      }
      if (rep > 0) {
        const double secs = seconds_since(start);
        measured += secs;
        rates.push_back(options.generate_tokens / secs);
      }
      if (rep > 0 && reprobe_bandwidth) {
        limits.mem_read_gbs = std::max(limits.mem_read_gbs, reprobe_bandwidth());
      }
    }
    summarize(rates, r);
    profile.fill(r, measured, int64_t{options.repetitions} * options.generate_tokens);
    const double mid = depth + options.generate_tokens / 2.0;
    r.bytes_per_token = decode_bytes_per_token(model, mid, options.kv_type);
    r.flops_per_token = flops_per_token(c, mid);
    r.executed_flops_per_token = r.flops_per_token;
    r.limit = "mem_read_gbs";
    r.fraction_of_limit = limits.mem_read_gbs > 0
                              ? r.tokens_per_s * r.bytes_per_token / (limits.mem_read_gbs * 1e9)
                              : 0;
    results.push_back(r);
  }
  return results;
}

}  // namespace tenbin
