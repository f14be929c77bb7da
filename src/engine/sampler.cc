#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace tenbin {

Status SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || temperature > 100.0f) {
    return Status::Errorf("temperature {} must be in [0, 100]", temperature);
  }
  if (!(top_p > 0.0f) || top_p > 1.0f) return Status::Errorf("top_p {} must be in (0, 1]", top_p);
  if (!(min_p >= 0.0f) || min_p > 1.0f) return Status::Errorf("min_p {} must be in [0, 1]", min_p);
  if (!(repeat_penalty > 0.0f)) {
    return Status::Errorf("repeat_penalty {} must be positive", repeat_penalty);
  }
  if (!(std::abs(presence_penalty) <= 2.0f)) {
    return Status::Errorf("presence_penalty {} must be in [-2, 2]", presence_penalty);
  }
  if (!(std::abs(frequency_penalty) <= 2.0f)) {
    return Status::Errorf("frequency_penalty {} must be in [-2, 2]", frequency_penalty);
  }
  for (const auto& [id, bias] : logit_bias) {
    if (id < 0) return Status::Errorf("logit_bias token id {} is negative", id);
    if (!(std::abs(bias) <= 100.0f)) {
      return Status::Errorf("logit_bias value {} for token {} must be in [-100, 100]", bias, id);
    }
  }
  return Status::Ok();
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

std::vector<kernels::LogitEdit> Sampler::logit_edits(std::span<const int32_t> history) const {
  std::vector<kernels::LogitEdit> edits;
  for (const auto& [id, bias] : params_.logit_bias) edits.push_back({id, bias, 1.0f, 0.0f});
  const bool any = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                   params_.frequency_penalty != 0.0f;
  if (!any || params_.repeat_last_n == 0) return edits;
  size_t window = history.size();
  if (params_.repeat_last_n > 0) {
    window = std::min(window, static_cast<size_t>(params_.repeat_last_n));
  }
  std::map<int32_t, int> counts;  // ordered: the same edit list for the same history
  for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
  for (const auto& [id, count] : counts) {
    const float subtract =
        static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    edits.push_back({id, 0.0f, params_.repeat_penalty, subtract});
  }
  return edits;
}

int32_t Sampler::candidates_needed(int64_t n_vocab) const {
  if (params_.temperature <= 0.0f) return 1;
  if (params_.top_k > 0 && params_.top_k <= kernels::kMaxSelectK && params_.top_k < n_vocab) {
    return params_.top_k;
  }
  return 0;
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  const std::vector<kernels::LogitEdit> edits = logit_edits(history);
  const auto n = static_cast<int64_t>(logits.size());
  kernels::apply_logit_edits(logits.data(), n, edits.data(), static_cast<int64_t>(edits.size()));
  int64_t keep = n;
  if (params_.temperature <= 0.0f) {
    keep = 1;
  } else if (params_.top_k > 0 && params_.top_k < n) {
    keep = params_.top_k;
  }
  candidates_.resize(static_cast<size_t>(keep));
  kernels::select_top_k(logits.data(), n, keep, candidates_.data());
  return draw(candidates_);
}

int32_t Sampler::sample_candidates(std::span<const kernels::TokenCandidate> best) {
  return draw(best);
}

int32_t Sampler::draw(std::span<const kernels::TokenCandidate> best) {
  // Greedy; ties went to the lowest id, so the choice never depends on evaluation order.
  if (params_.temperature <= 0.0f) return best[0].token;
  size_t keep = best.size();

  // Softmax with temperature over the survivors (sorted, so [0] holds the max).
  probs_.resize(keep);
  std::vector<double>& probs = probs_;
  const double max_logit = best[0].logit;
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((best[i].logit - max_logit) / params_.temperature);
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;

  if (params_.top_p < 1.0f) {
    double cumulative = 0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += probs[i];
      if (cumulative >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
  }
  if (params_.min_p > 0.0f) {
    const double threshold = probs[0] * params_.min_p;
    size_t cut = 1;
    while (cut < keep && probs[cut] >= threshold) ++cut;
    keep = cut;
  }

  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs[i];
  std::uniform_real_distribution<double> uniform(0.0, total);
  double r = uniform(rng_);
  for (size_t i = 0; i < keep; ++i) {
    r -= probs[i];
    if (r < 0) return best[i].token;
  }
  return best[keep - 1].token;
}

}  // namespace tenbin
