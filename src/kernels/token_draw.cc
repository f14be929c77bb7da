#include "kernels/token_draw.h"

#include <cmath>
#include <vector>

namespace tenbin::kernels {
namespace {

double weight(float logit, double max_logit, float temperature) {
  return std::exp((static_cast<double>(logit) - max_logit) / static_cast<double>(temperature));
}

}  // namespace

int32_t draw_from_best(const TokenCandidate* best, int64_t k, const DrawParams& params) {
  thread_local std::vector<double> probs;
  probs.resize(static_cast<size_t>(k));
  const double max_logit = best[0].logit;
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) {
    probs[i] = weight(best[i].logit, max_logit, params.temperature);
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;

  int64_t keep = k;
  if (params.top_p < 1.0f) {
    double cumulative = 0;
    for (int64_t i = 0; i < k; ++i) {
      cumulative += probs[i];
      if (cumulative >= params.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params.min_p > 0.0f) {
    const double threshold = probs[0] * params.min_p;
    int64_t cut = 1;
    while (cut < keep && probs[cut] >= threshold) ++cut;
    keep = cut;
  }

  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += probs[i];
  double r = params.u * total;
  for (int64_t i = 0; i < keep; ++i) {
    r -= probs[i];
    if (r < 0) return best[i].token;
  }
  return best[keep - 1].token;
}

int32_t draw_from_row(const float* logits, int64_t n_vocab, const TokenCandidate* best, int64_t m,
                      const DrawParams& params) {
  const double max_logit = best[0].logit;
  const float t = params.temperature;
  thread_local std::vector<double> w_best;
  thread_local std::vector<uint8_t> in_best;
  w_best.resize(static_cast<size_t>(m));
  in_best.assign(static_cast<size_t>(n_vocab), 0);
  double sum_best = 0;
  for (int64_t i = 0; i < m; ++i) {
    w_best[i] = weight(best[i].logit, max_logit, t);
    sum_best += w_best[i];
    in_best[best[i].token] = 1;
  }
  double sum_rest = 0;
  for (int64_t i = 0; i < n_vocab; ++i) {
    if (!in_best[i]) sum_rest += weight(logits[i], max_logit, t);
  }
  const double sum = sum_best + sum_rest;
  const bool has_rest = m < n_vocab;

  int64_t keep = has_rest ? -1 : m;  // -1: nothing cut, the rest included
  if (params.top_p < 1.0f) {
    const double target = static_cast<double>(params.top_p) * sum;
    double cumulative = 0;
    int64_t cut = -1;
    for (int64_t i = 0; i < m && cut < 0; ++i) {
      cumulative += w_best[i];
      if (cumulative >= target) cut = i + 1;
    }
    if (cut < 0 && has_rest) return kDrawNeedsSortedRow;
    if (cut > 0) keep = cut;
  }
  if (params.min_p > 0.0f) {
    const int64_t limit = keep < 0 ? m : keep;
    int64_t cut = 1;
    while (cut < limit && w_best[cut] >= params.min_p) ++cut;
    if (keep < 0 && cut == m) return kDrawNeedsSortedRow;  // the rest may pass too
    keep = cut;
  }

  // The walk: the kept tokens of best (all of them when nothing was cut), then the rest.
  const int64_t walked = keep > 0 ? keep : m;
  double kept = 0;
  for (int64_t i = 0; i < walked; ++i) kept += w_best[i];
  double r = params.u * (keep > 0 ? kept : sum);
  int32_t last = best[0].token;
  for (int64_t i = 0; i < walked; ++i) {
    r -= w_best[i];
    if (r < 0) return best[i].token;
    if (w_best[i] > 0) last = best[i].token;
  }
  if (keep > 0) return last;
  for (int64_t i = 0; i < n_vocab; ++i) {
    if (in_best[i]) continue;
    const double w = weight(logits[i], max_logit, t);
    r -= w;
    if (r < 0) return static_cast<int32_t>(i);
    if (w > 0) last = static_cast<int32_t>(i);
  }
  return last;
}

int32_t draw_over_row(const float* logits, int64_t n_vocab, const DrawParams& params) {
  const int64_t m = n_vocab < kMaxSelectK ? n_vocab : kMaxSelectK;
  TokenCandidate best[kMaxSelectK];
  select_top_k(logits, n_vocab, m, best);
  return draw_from_row(logits, n_vocab, best, m, params);
}

}  // namespace tenbin::kernels
