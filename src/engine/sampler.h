// Picks the next token from a row of logits. Order, as llama.cpp and vLLM apply them:
// logit bias -> repetition/presence/frequency penalties over recent tokens -> top-k -> temperature
// -> top-p (nucleus) -> min-p -> draw. temperature <= 0 means greedy (argmax after penalties). Each
// Sampler owns its random generator (seeded), so one sequence's draws never depend on another's.
// The steps after the logits (edits, top-k, and with top-k off the whole draw; kernels/
// token_select.h, kernels/token_draw.h) may run where the logits are: plan() says what a
// backend does for the row (LlamaModel::forward with an OutputSelect, on the GPU that computed
// it) and finish() takes the token from what comes back; the token is the one sample() draws
// from the whole row with the same generator. Not thread-safe; one per sequence.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "kernels/token_draw.h"
#include "kernels/token_select.h"
#include "model/forward_output.h"
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

  // This step's row as a backend returns it: greedy -> the best token; top-k on (at most
  // kernels::kMaxSelectK) -> the top_k best; top-k off -> the token drawn (kDrawFromRow); each
  // after logit_edits(history). A larger top-k -> the whole row (top_k 0: finish_whole() it).
  // Takes the draw's uniform number from the generator now, as sample() would.
  void plan(std::span<const int32_t> history, int64_t n_vocab, OutputSelect* select);
  // The token from the row's `best` entries (ForwardOutput::best_of) of a row planned with
  // `select`; kernels::kDrawNeedsSortedRow when the draw needs the whole edited row: then
  // draw_sorted(that row, select.draw).
  int32_t finish(const OutputSelect& select, std::span<const kernels::TokenCandidate> best) const;
  // The token of a row planned whole (top_k 0): `select`'s edits applied to `row` in place, then
  // the draw; what sample() does without computing the edits again.
  int32_t finish_whole(const OutputSelect& select, std::span<float> row);
  static int32_t draw_sorted(std::span<const float> edited_row, const kernels::DrawParams& draw);
  // The draw from a whole row whose edits are applied (a fetched row a grammar masked), taking
  // the generator's next number as sample() does.
  int32_t draw_edited(std::span<const float> edited_row);

  // logit_bias, then the penalties over `history`, as edits in the order sample() applies them.
  std::vector<kernels::LogitEdit> logit_edits(std::span<const int32_t> history) const;

 private:
  bool greedy() const { return params_.temperature <= 0.0f; }
  // Top-k's cut of a row of n tokens: 0 when it keeps them all.
  int64_t top_k_cut(int64_t n) const {
    return params_.top_k > 0 && params_.top_k < n ? params_.top_k : 0;
  }
  // The draw's parameters, with the next uniform number of the generator.
  kernels::DrawParams next_draw();

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<kernels::TokenCandidate> candidates_;
};

}  // namespace tenbin
