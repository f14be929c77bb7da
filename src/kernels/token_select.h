// Sampling's candidate selection, one recipe for every place that runs it: the host sampler
// (engine/sampler.h), the CPU backend and the device backends (Backend::select_top_k), whose
// tests compare against these functions. A row of logits first takes its edits (OpenAI
// logit_bias, then the repetition, presence and frequency penalties), then yields its k best
// tokens in a total order: logit descending, then token id ascending, -0 equal to +0 and NaN
// after everything. Every implementation therefore returns the same list, bit for bit.
// Plain structs and pointers only: the CUDA kernels include this header.
#pragma once

#include <cstdint>
#include <cstring>

// Also compiled into CUDA kernels.
#ifdef __CUDACC__
#define TENBIN_HOST_DEVICE __host__ __device__
#else
#define TENBIN_HOST_DEVICE
#endif

namespace tenbin::kernels {

// One change to one token's logit, applied in list order:
//   logit += add                                   (skipped when add == 0)
//   logit = logit > 0 ? logit / penalty : logit * penalty   (skipped when penalty == 1)
//   logit -= subtract
struct LogitEdit {
  int32_t token = 0;
  float add = 0;
  float penalty = 1;
  float subtract = 0;
};

struct TokenCandidate {
  int32_t token = 0;
  float logit = 0;
};

// The largest k a backend selects on its own; a draw needing more reads the whole row.
inline constexpr int32_t kMaxSelectK = 256;

// The order key of a logit: larger key, better token. -0 and +0 share a key; NaN has the
// smallest (0), below -inf.
TENBIN_HOST_DEVICE inline uint32_t logit_order_key(float logit) {
  if (logit != logit) return 0;
  const float canonical = logit + 0.0f;  // -0 -> +0
#ifdef __CUDA_ARCH__
  const uint32_t bits = __float_as_uint(canonical);
#else
  uint32_t bits = 0;
  std::memcpy(&bits, &canonical, sizeof bits);
#endif
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

// Applies `edits` (n_edits of them) to logits[0, n_vocab) in order; tokens outside the row
// are skipped.
void apply_logit_edits(float* logits, int64_t n_vocab, const LogitEdit* edits, int64_t n_edits);

// out[0, k) = the k best tokens of logits[0, n_vocab), best first (1 <= k <= n_vocab).
void select_top_k(const float* logits, int64_t n_vocab, int64_t k, TokenCandidate* out);

}  // namespace tenbin::kernels
