// Picks the next token from a row of logits. Order, as llama.cpp and vLLM apply them:
// logit bias -> repetition/presence/frequency penalties over recent tokens -> top-k -> temperature
// -> top-p (nucleus) -> min-p -> draw. temperature <= 0 means greedy (argmax after penalties). Each
// Sampler owns its random generator (seeded), so one sequence's draws never depend on another's.
// The first steps (edits and top-k, kernels/token_select.h) may run where the logits are: a
// caller asks for logit_edits() and candidates_needed() best tokens (Backend::select_top_k, on
// the GPU that computed them) and finishes with sample_candidates(), which draws exactly what
// sample() draws from the whole row. Not thread-safe; one per sequence.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "kernels/token_select.h"
#include "util/status.h"

namespace tenbin {

struct SamplingParams {
  float temperature = 0.8f;
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off (divides positive logits, multiplies negative ones)
  int32_t repeat_last_n = 64;   // window of recent tokens the penalties see
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
  // OpenAI's logit_bias: (token id, value added to its logit), values in [-100, 100]. Ids at
  // or past the vocabulary are ignored here; the server rejects them with a 400.
  std::vector<std::pair<int32_t, float>> logit_bias;

  Status validate() const;  // ranges as OpenAI/llama.cpp accept them
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // `history`: the tokens so far (prompt and generated), for the penalties. `logits` is
  // modified in place.
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);

  // How many best tokens (after the edits) a draw reads: 1 when greedy, top_k when it is on and
  // at most kernels::kMaxSelectK, 0 when it needs the whole row (top-k off or larger).
  int32_t candidates_needed(int64_t n_vocab) const;
  // logit_bias, then the penalties over `history`, as edits in the order sample() applies them.
  std::vector<kernels::LogitEdit> logit_edits(std::span<const int32_t> history) const;
  // The draw from the candidates_needed() best tokens of the edited row, best first: the token
  // sample() returns for that row, consuming the generator as it does.
  int32_t sample_candidates(std::span<const kernels::TokenCandidate> best);

 private:
  // Temperature, top-p, min-p and the draw over `best` (sorted, the row's top-k survivors).
  int32_t draw(std::span<const kernels::TokenCandidate> best);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<kernels::TokenCandidate> candidates_;
  std::vector<double> probs_;
};

}  // namespace tenbin
