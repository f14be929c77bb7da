#include "kernels/token_select.h"

#include <algorithm>
#include <vector>

namespace tenbin::kernels {

void apply_logit_edits(float* logits, int64_t n_vocab, const LogitEdit* edits, int64_t n_edits) {
  for (int64_t i = 0; i < n_edits; ++i) {
    const LogitEdit& e = edits[i];
    if (e.token < 0 || e.token >= n_vocab) continue;
    float& l = logits[e.token];
    if (e.add != 0.0f) l += e.add;
    if (e.penalty != 1.0f) l = l > 0 ? l / e.penalty : l * e.penalty;
    l -= e.subtract;
  }
}

void select_top_k(const float* logits, int64_t n_vocab, int64_t k, TokenCandidate* out) {
  struct Keyed {
    uint32_t key;
    int32_t token;
  };
  const auto better = [](const Keyed& a, const Keyed& b) {
    return a.key > b.key || (a.key == b.key && a.token < b.token);
  };
  if (k == 1) {  // greedy: one pass
    Keyed best{logit_order_key(logits[0]), 0};
    for (int64_t i = 1; i < n_vocab; ++i) {
      const Keyed c{logit_order_key(logits[i]), static_cast<int32_t>(i)};
      if (better(c, best)) best = c;
    }
    out[0] = {best.token, logits[best.token]};
    return;
  }
  thread_local std::vector<Keyed> keyed;
  keyed.resize(static_cast<size_t>(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i) {
    keyed[i] = {logit_order_key(logits[i]), static_cast<int32_t>(i)};
  }
  if (k < n_vocab) {
    std::partial_sort(keyed.begin(), keyed.begin() + k, keyed.end(), better);
  } else {
    std::sort(keyed.begin(), keyed.end(), better);
  }
  for (int64_t i = 0; i < k; ++i) out[i] = {keyed[i].token, logits[keyed[i].token]};
}

}  // namespace tenbin::kernels
