#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

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

void Sampler::apply_penalties(std::span<float> logits, std::span<const int32_t> history) const {
  const bool any = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                   params_.frequency_penalty != 0.0f;
  if (!any || params_.repeat_last_n == 0) return;
  size_t window = history.size();
  if (params_.repeat_last_n > 0) {
    window = std::min(window, static_cast<size_t>(params_.repeat_last_n));
  }
  std::unordered_map<int32_t, int> counts;
  for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
  for (const auto& [id, count] : counts) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    float& l = logits[id];
    if (params_.repeat_penalty != 1.0f) {
      l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    }
    l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  for (const auto& [id, bias] : params_.logit_bias) {
    if (id >= 0 && static_cast<size_t>(id) < logits.size()) logits[id] += bias;
  }
  apply_penalties(logits, history);
  const int32_t n = static_cast<int32_t>(logits.size());
  if (params_.temperature <= 0.0f) {
    // Greedy; ties go to the lowest id so the choice never depends on evaluation order.
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }

  candidates_.resize(n);
  for (int32_t i = 0; i < n; ++i) candidates_[i] = {i, logits[i]};
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  size_t keep = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = params_.top_k;
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  candidates_.resize(keep);

  // Softmax with temperature over the survivors (sorted, so [0] holds the max).
  std::vector<double> probs(keep);
  const double max_logit = candidates_[0].logit;
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((candidates_[i].logit - max_logit) / params_.temperature);
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
    if (r < 0) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

}  // namespace tenbin
