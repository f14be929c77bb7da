// What a forward pass returns for its output rows (the tokens of a Batch with want_logits): the
// whole row of logits, or, where the caller's sampler does not need it, just the row's best few
// tokens or the token drawn from it (OutputSelect; Backend::select_top_k), which spares a
// device the row's download and the host a pass over the vocabulary.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/token_draw.h"
#include "kernels/token_select.h"

namespace tenbin {

// How one output row is returned.
struct OutputSelect {
  // 0: the whole row; 1..kernels::kMaxSelectK: the row's best top_k tokens after `edits`;
  // kernels::kDrawFromRow: the token drawn (draw_from_row with `draw`) after `edits`.
  int32_t top_k = 0;
  std::vector<kernels::LogitEdit> edits;
  kernels::DrawParams draw;

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

  bool selected(size_t i) const { return row_index[i] < 0; }
  std::span<float> row(size_t i) {
    return {logits.data() + static_cast<size_t>(row_index[i]) * n_vocab,
            static_cast<size_t>(n_vocab)};
  }
  std::span<const kernels::TokenCandidate> best_of(size_t i, int32_t k) const {
    return {best.data() + i * static_cast<size_t>(max_k), static_cast<size_t>(k)};
  }
};

}  // namespace tenbin
