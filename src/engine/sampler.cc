#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
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

kernels::DrawParams Sampler::next_draw() {
  kernels::DrawParams draw;
  draw.temperature = params_.temperature;
  draw.top_p = params_.top_p;
  draw.min_p = params_.min_p;
  draw.u = std::generate_canonical<double, std::numeric_limits<double>::digits>(rng_);
  return draw;
}

void Sampler::plan(std::span<const int32_t> history, int64_t n_vocab, OutputSelect* select) {
  select->edits = logit_edits(history);
  select->draw = kernels::DrawParams{};
  if (greedy()) {
    select->top_k = 1;
    return;
  }
  const int64_t k = top_k_cut(n_vocab);
  if (k > kernels::kMaxSelectK) {
    select->top_k = 0;  // a cut past what a backend selects: sample() from the whole row
    return;
  }
  select->top_k = k == 0 ? kernels::kDrawFromRow : static_cast<int32_t>(k);
  select->draw = next_draw();
}

int32_t Sampler::finish(const OutputSelect& select,
                        std::span<const kernels::TokenCandidate> best) const {
  if (select.top_k == kernels::kDrawFromRow || greedy()) return best[0].token;
  return kernels::draw_from_best(best.data(), static_cast<int64_t>(best.size()), select.draw);
}

int32_t Sampler::finish_whole(const OutputSelect& select, std::span<float> row) {
  kernels::apply_logit_edits(row.data(), static_cast<int64_t>(row.size()), select.edits.data(),
                             static_cast<int64_t>(select.edits.size()));
  return draw_edited(row);
}

int32_t Sampler::draw_sorted(std::span<const float> edited_row, const kernels::DrawParams& draw) {
  const auto n = static_cast<int64_t>(edited_row.size());
  std::vector<kernels::TokenCandidate> all(static_cast<size_t>(n));
  kernels::select_top_k(edited_row.data(), n, n, all.data());
  return kernels::draw_from_best(all.data(), n, draw);
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  const std::vector<kernels::LogitEdit> edits = logit_edits(history);
  kernels::apply_logit_edits(logits.data(), static_cast<int64_t>(logits.size()), edits.data(),
                             static_cast<int64_t>(edits.size()));
  return draw_edited(logits);
}

int32_t Sampler::draw_edited(std::span<const float> logits) {
  const auto n = static_cast<int64_t>(logits.size());
  if (greedy()) {
    kernels::TokenCandidate best;
    kernels::select_top_k(logits.data(), n, 1, &best);
    return best.token;
  }
  const kernels::DrawParams draw = next_draw();
  if (const int64_t k = top_k_cut(n); k > 0) {
    candidates_.resize(static_cast<size_t>(k));
    kernels::select_top_k(logits.data(), n, k, candidates_.data());
    return kernels::draw_from_best(candidates_.data(), k, draw);
  }
  const int32_t token = kernels::draw_over_row(logits.data(), n, draw);
  return token != kernels::kDrawNeedsSortedRow ? token : draw_sorted(logits, draw);
}

}  // namespace tenbin
