#include "kernels/token_logprobs.h"

#include <algorithm>
#include <cmath>

namespace tenbin::kernels {

float log_sum_exp(const float* logits, int64_t n_vocab) {
  TokenCandidate best;
  select_top_k(logits, n_vocab, 1, &best);
  if (!std::isfinite(best.logit)) return best.logit;
  const double max_logit = best.logit;
  double sum = 0;
  for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max_logit);
  return static_cast<float>(max_logit + std::log(sum));
}

void row_logprobs(const float* logits, int64_t n_vocab, int32_t n_top, RowLogprobs* out) {
  out->log_z = log_sum_exp(logits, n_vocab);
  out->n_top = static_cast<int32_t>(std::min<int64_t>(n_top, n_vocab));
  if (out->n_top > 0) select_top_k(logits, n_vocab, out->n_top, out->top);
}

}  // namespace tenbin::kernels
