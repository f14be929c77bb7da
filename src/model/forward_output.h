// What a forward pass returns for its output rows (the tokens of a Batch with want_logits): the
// whole row of logits, or, where the caller's sampler does not need it, just the row's best few
// tokens or the token drawn from it (OutputSelect; Backend::select_top_k), which spares a
// device the row's download and the host a pass over the vocabulary. A row may also report
// OpenAI logprobs from its raw logits (Backend::raw_logprobs), selected or whole.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/token_draw.h"
#include "kernels/token_logprobs.h"
#include "kernels/token_select.h"

namespace tenbin {

// How one output row is returned.
struct OutputSelect {
  // 0: the whole row; 1..kernels::kMaxSelectK: the row's best top_k tokens after `edits`;
  // kernels::kDrawFromRow: the token drawn (draw_from_row with `draw`) after `edits`.
  int32_t top_k = 0;
  std::vector<kernels::LogitEdit> edits;
  kernels::DrawParams draw;
  // -1: none; 0..kernels::kMaxLogprobs: the row's log-softmax normalizer and that many best
  // tokens, from the raw logits (ForwardOutput::logprobs_of), and the raw logits of the tokens
  // `edits` change (ForwardOutput::raw_logit). `edits` then reach the backend even for a whole
  // row, which returns them unapplied.
  int32_t logprobs = -1;

  // Entries of ForwardOutput::best the row fills.
  int32_t best_entries() const { return top_k == kernels::kDrawFromRow ? 1 : top_k; }
};

struct ForwardOutput {
  int64_t n_vocab = 0;
  int64_t max_k = 0;  // the most best entries a row fills
  // The whole rows (top_k 0), in output order: [rows, n_vocab]; row_index maps an output row
  // to its row here, or -1 when it was selected.
  std::vector<float> logits;
  std::vector<int32_t> row_index;             // [n_outputs]
  std::vector<kernels::TokenCandidate> best;  // [n_outputs, max_k]; row i's top_k first
  // When a row asked for logprobs: [n_outputs] (rows that did not are left default), and the
  // raw logits of the rows' edits' tokens, row i's at [edit_begin[i], edit_begin[i + 1]).
  std::vector<kernels::RowLogprobs> logprobs;
  std::vector<float> edit_raw;
  std::vector<int32_t> edit_begin;

  bool selected(size_t i) const { return row_index[i] < 0; }
  std::span<float> row(size_t i) {
    return {logits.data() + static_cast<size_t>(row_index[i]) * n_vocab,
            static_cast<size_t>(n_vocab)};
  }
  std::span<const kernels::TokenCandidate> best_of(size_t i, int32_t k) const {
    return {best.data() + i * static_cast<size_t>(max_k), static_cast<size_t>(k)};
  }
  const kernels::RowLogprobs& logprobs_of(size_t i) const { return logprobs[i]; }
  // The raw logit of `token` in row i (which asked for logprobs with `edits`), from its logit
  // after the edits: the logit before the first edit of it, or `edited` when none names it.
  float raw_logit(size_t i, std::span<const kernels::LogitEdit> edits, int32_t token,
                  float edited) const {
    const auto staged = static_cast<size_t>(edit_begin[i + 1] - edit_begin[i]);
    for (size_t e = 0; e < std::min(edits.size(), staged); ++e) {
      if (edits[e].token == token) return edit_raw[static_cast<size_t>(edit_begin[i]) + e];
    }
    return edited;
  }
};

}  // namespace tenbin
