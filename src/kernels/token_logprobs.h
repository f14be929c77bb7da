// What OpenAI's logprobs report about a row of logits, one recipe for the host and every
// backend (Backend::raw_logprobs, whose tests compare against these functions): the row's
// log-softmax normalizer log(sum_i exp(logit_i)) and its n best tokens (kernels/token_select.h's
// order), both from the raw logits, before sampling's edits. A token's logprob is then its raw
// logit minus the normalizer. Plain structs only: the CUDA kernels include this header.
#pragma once

#include <cstdint>

#include "kernels/token_select.h"

namespace tenbin::kernels {

// The most alternatives a row reports (OpenAI's top_logprobs allows 20).
inline constexpr int32_t kMaxLogprobs = 20;

struct RowLogprobs {
  float log_z = 0;                   // log(sum of exp(logit)) over the row
  int32_t n_top = 0;                 // entries of `top` filled
  TokenCandidate top[kMaxLogprobs];  // the n_top best tokens with their raw logits, best first
};

// log(sum_i exp(logits[i])), summed in double around the row's largest logit (the best in
// token_select.h's order, so NaN only when every logit is NaN). A row whose largest logit is
// infinite returns it; a NaN among finite logits makes the sum NaN.
float log_sum_exp(const float* logits, int64_t n_vocab);

// log_z and the min(n_top, n_vocab) best tokens of a row (0 <= n_top <= kMaxLogprobs).
void row_logprobs(const float* logits, int64_t n_vocab, int32_t n_top, RowLogprobs* out);

}  // namespace tenbin::kernels
