// Picks the next token from a row of logits. Order, as llama.cpp and vLLM apply them:
// logit bias -> repetition/presence/frequency penalties over recent tokens -> top-k -> temperature
// -> top-p (nucleus) -> min-p -> draw. temperature <= 0 means greedy (argmax after penalties). Each
// Sampler owns its random generator (seeded), so one sequence's draws never depend on another's.
// Not thread-safe; one per sequence.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

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

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  void apply_penalties(std::span<float> logits, std::span<const int32_t> history) const;

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;
};

}  // namespace tenbin
