// Sampling's draw, after the edits and top-k of kernels/token_select.h: temperature, the
// nucleus (top-p) and min-p cuts, then the token where a uniform number's share of the kept
// weight runs out. The uniform number u in [0, 1) is an input (the sampler's generator gives
// one per draw), so a draw runs the same wherever the logits are: the host sampler
// (engine/sampler.h), the CPU backend, or a GPU that draws without sending the row back
// (Backend::select_top_k with kDrawFromRow). Two recipes:
// - draw_from_best: over a row's k best tokens, sorted (top-k on, or a fully sorted row).
// - draw_from_row: top-k off, over the whole row without sorting it (below).
// Plain structs and pointers only: the CUDA kernels include this header.
#pragma once

#include <cstdint>

#include "kernels/token_select.h"

namespace tenbin::kernels {

struct DrawParams {
  float temperature = 1;  // > 0 (greedy is top-k 1)
  float top_p = 1;        // >= 1: off
  float min_p = 0;        // <= 0: off
  float reserved = 0;
  double u = 0;  // [0, 1)
};

// output_top_k of a row whose whole draw runs where the logits are (draw_from_row).
inline constexpr int32_t kDrawFromRow = -1;
// draw_from_row's answer when a cut reaches past the kMaxSelectK best tokens: the caller sorts
// the row and draws with draw_from_best over all of it.
inline constexpr int32_t kDrawNeedsSortedRow = -1;

// Over best[0, k), sorted (select_top_k): p = exp((logit - best[0].logit) / T) in double,
// normalized by their sum (in order); top-p keeps best[0..i] for the first i whose running sum
// reaches top_p; min-p keeps those with p >= p[0] * min_p; r = u * (kept sum) walks the kept
// tokens, and the token where it drops below 0 is drawn (the last kept one if rounding leaves
// it at 0 or above).
int32_t draw_from_best(const TokenCandidate* best, int64_t k, const DrawParams& params);

// Top-k off, over all n_vocab logits, in O(n): `best` holds the row's m = min(n_vocab,
// kMaxSelectK) best tokens (select_top_k). Weights w = exp((logit - best[0].logit) / T) in
// double (so best[0]'s is 1); S = (sum over best, in order) + (sum over the other tokens, "the
// rest"). Top-p keeps best[0..i] for the first i whose running sum reaches top_p * S, min-p the
// tokens with w >= min_p; a cut that does not fall inside `best` (while the rest is not empty)
// returns kDrawNeedsSortedRow. With cuts, r = u * (kept sum) walks the kept tokens; without,
// r = u * S walks best and then the rest in id order. The token where r drops below 0 is drawn
// (the last one walked with w > 0 if rounding leaves r at 0 or above). The rest's sum and walk
// may run in another order elsewhere (a GPU sums it in parallel): draws then differ only where
// u lands within rounding (~1e-16 relative) of a boundary.
int32_t draw_from_row(const float* logits, int64_t n_vocab, const TokenCandidate* best, int64_t m,
                      const DrawParams& params);

// draw_from_row over the row's own best tokens: selects its min(n_vocab, kMaxSelectK) best
// first, as a backend does for kDrawFromRow.
int32_t draw_over_row(const float* logits, int64_t n_vocab, const DrawParams& params);

}  // namespace tenbin::kernels
