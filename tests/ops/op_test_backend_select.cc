// Backend check of select_top_k (sampling's logit edits and top-k, kernels/token_select.h, and
// the draw of kernels/token_draw.h) against the host functions on random rows: the same tokens
// and the same logit bits, edits applied in place to the rows that select and no others,
// nothing written past each row's entries. Rows include heavy ties at the k-th value (the
// lowest ids must win), -0 next to +0, NaN and infinities, and edits that repeat a token or
// name one outside the vocabulary, over fixed and random vocabulary sizes. Draws cover cuts inside
// the best tokens, draws that reach into the rest of the row, and cuts that need the sorted row.
#include <bit>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "kernels/token_draw.h"
#include "kernels/token_select.h"
#include "op_test_backend.h"

namespace tenbin::optest {

using backend::Buffer;
using kernels::LogitEdit;
using kernels::TokenCandidate;

std::vector<float> make_logit_row(std::mt19937& rng, int64_t n_vocab, LogitRowKind kind) {
  std::vector<float> row = random_floats(rng, n_vocab, 3.0f);
  std::uniform_int_distribution<int64_t> pick(0, n_vocab - 1);
  switch (kind) {
    case LogitRowKind::kNormal:
      break;
    case LogitRowKind::kCoarse:  // a few levels only: long runs of ties at any threshold
      for (float& v : row) v = std::round(v * 0.5f);
      break;
    case LogitRowKind::kSpecial:
      for (int i = 0; i < 8; ++i) row[pick(rng)] = i % 2 == 0 ? 0.0f : -0.0f;
      row[pick(rng)] = NAN;
      row[pick(rng)] = -INFINITY;
      row[pick(rng)] = INFINITY;
      break;
    case LogitRowKind::kFlat:
      std::fill(row.begin(), row.end(), 1.5f);
      break;
  }
  return row;
}

std::vector<LogitEdit> make_logit_edits(std::mt19937& rng, int64_t n_vocab, float max_bias) {
  std::uniform_int_distribution<int32_t> token(-2, static_cast<int32_t>(n_vocab) + 2);
  std::uniform_int_distribution<int> count(0, 24);
  std::uniform_real_distribution<float> bias(-max_bias, max_bias);
  std::vector<LogitEdit> edits;
  const int n = count(rng);
  for (int i = 0; i < n; ++i) {
    const int32_t t = i > 0 && i % 5 == 0 ? edits.back().token : token(rng);  // repeats
    if (i % 3 == 0) {
      edits.push_back({t, 0.0f, 1.3f, static_cast<float>(i % 4) * 0.37f + 0.5f});
    } else {
      edits.push_back({t, bias(rng), 1.0f, 0.0f});
    }
  }
  return edits;
}

namespace {

// Runs select_top_k over `logits` with the selections of `desc` and compares the entries
// (`want`, sentinels where a row writes none) and the edited rows with the host's.
void run_and_compare(BackendRun& run, const std::string& op, const std::string& shape,
                     const backend::BatchDesc& desc, const std::vector<float>& logits,
                     int64_t n_vocab, int64_t max_k, const std::vector<TokenCandidate>& want,
                     const std::vector<float>& want_logits, const TokenCandidate& sentinel) {
  const Buffer dl = to_device(run.dev, logits);
  const Buffer db = to_device(run.dev, std::vector<TokenCandidate>(want.size(), sentinel));
  const Status s = run.dev.begin_forward(desc, run.pool);
  if (!s.ok()) {
    run.check(op, shape + " begin_forward: " + s.message(), INFINITY, 0);
    return;
  }
  run.dev.select_top_k(dl.as<float>(), n_vocab, max_k, db.as<TokenCandidate>());
  const auto got = to_host<TokenCandidate>(run.dev, db, want.size());
  const auto got_logits = to_host<float>(run.dev, dl, logits.size());
  run.check(op, shape, bit_mismatches(want.data(), got.data(), got.size() * sizeof(TokenCandidate)),
            kTolExact);
  run.check(op + " edited rows", shape,
            bit_mismatches(want_logits.data(), got_logits.data(), got_logits.size() * 4),
            kTolExact);
}

void check_select_top_k(BackendRun& run) {
  const TokenCandidate sentinel{-7, std::bit_cast<float>(0x7FC0BEEFu)};
  std::uniform_int_distribution<int64_t> any_vocab(2, 70000);
  for (int64_t n_vocab :
       {int64_t{7}, int64_t{50}, int64_t{1000}, int64_t{32003}, any_vocab(run.rng)}) {
    for (const HostBatch& batch : {linear_batch(9), ragged_batch(run.rng, {{0, 3}, {5, 1}}, 16,
                                                                 static_cast<int32_t>(n_vocab))}) {
      const auto n_out = static_cast<int64_t>(batch.output_rows.size());
      const int32_t largest =
          static_cast<int32_t>(std::min<int64_t>(n_vocab, kernels::kMaxSelectK));
      std::uniform_int_distribution<int32_t> any_k(1, largest);
      std::vector<int32_t> top_k(n_out), edit_begin{0};
      std::vector<LogitEdit> edits;
      std::vector<float> logits;
      for (int64_t i = 0; i < n_out; ++i) {
        const int32_t choices[] = {0, 1, 2, std::min(40, largest), largest, any_k(run.rng)};
        top_k[i] = choices[(i + n_vocab) % 6];
        const auto row = make_logit_row(run.rng, n_vocab, static_cast<LogitRowKind>(i % 4));
        logits.insert(logits.end(), row.begin(), row.end());
        const auto row_edits = make_logit_edits(run.rng, n_vocab);
        edits.insert(edits.end(), row_edits.begin(), row_edits.end());
        edit_begin.push_back(static_cast<int32_t>(edits.size()));
      }
      const int64_t max_k = *std::max_element(top_k.begin(), top_k.end());

      // The host's answer: edits, then selection, on the rows that select.
      std::vector<float> want_logits = logits;
      std::vector<TokenCandidate> want(static_cast<size_t>(n_out * max_k), sentinel);
      for (int64_t i = 0; i < n_out; ++i) {
        if (top_k[i] == 0) continue;
        float* row = want_logits.data() + i * n_vocab;
        kernels::apply_logit_edits(row, n_vocab, edits.data() + edit_begin[i],
                                   edit_begin[i + 1] - edit_begin[i]);
        kernels::select_top_k(row, n_vocab, top_k[i], want.data() + i * max_k);
      }

      backend::BatchDesc desc = batch.desc();
      desc.output_top_k = top_k.data();
      desc.output_edit_begin = edit_begin.data();
      desc.logit_edits = edits.data();
      const std::string shape =
          fmt::format("vocab={} outputs={} max_k={} edits={}", n_vocab, n_out, max_k, edits.size());
      run_and_compare(run, "select_top_k", shape, desc, logits, n_vocab, max_k, want, want_logits,
                      sentinel);
    }
  }
}

// Rows of one batch that draw (kDrawFromRow) next to rows that select and rows left whole.
void check_draw_from_row(BackendRun& run) {
  const TokenCandidate sentinel{-7, std::bit_cast<float>(0x7FC0BEEFu)};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const float temperatures[] = {0.6f, 1.0f, 1.5f};
  const float top_ps[] = {1.0f, 0.9f, 1.0f, 0.3f};
  const float min_ps[] = {0.0f, 0.0f, 0.0f, 0.05f, 0.0f};
  int64_t case_index = 0;
  std::uniform_int_distribution<int64_t> any_vocab(2, 70000);
  for (int64_t n_vocab :
       {int64_t{7}, int64_t{300}, int64_t{1000}, int64_t{32003}, any_vocab(run.rng)}) {
    for (int repeat = 0; repeat < 4; ++repeat) {
      const HostBatch batch = linear_batch(12);
      const auto n_out = static_cast<int64_t>(batch.output_rows.size());
      const int64_t m = std::min<int64_t>(n_vocab, kernels::kMaxSelectK);
      std::vector<int32_t> top_k(n_out), edit_begin{0};
      std::vector<kernels::DrawParams> draws(n_out);
      std::vector<LogitEdit> edits;
      std::vector<float> logits;
      for (int64_t i = 0; i < n_out; ++i, ++case_index) {
        top_k[i] = i % 6 == 4   ? std::min<int32_t>(5, static_cast<int32_t>(n_vocab))
                   : i % 6 == 5 ? 0
                                : kernels::kDrawFromRow;
        draws[i].temperature = temperatures[case_index % 3];
        draws[i].top_p = top_ps[case_index % 4];
        draws[i].min_p = min_ps[case_index % 5];
        draws[i].u = i % 7 == 0 ? 0.0 : uniform(run.rng);
        auto row =
            make_logit_row(run.rng, n_vocab, static_cast<LogitRowKind>(i % 4 == 2 ? 0 : i % 4));
        if (i % 2 == 1) {
          for (float& v : row) v *= 0.1f;  // flat: much of the weight past the best tokens
        }
        logits.insert(logits.end(), row.begin(), row.end());
        const auto row_edits = make_logit_edits(run.rng, n_vocab, 2.0f);  // no token dominates
        edits.insert(edits.end(), row_edits.begin(), row_edits.end());
        edit_begin.push_back(static_cast<int32_t>(edits.size()));
      }
      const int64_t max_k = std::min<int64_t>(5, n_vocab);

      std::vector<float> want_logits = logits;
      std::vector<TokenCandidate> want(static_cast<size_t>(n_out * max_k), sentinel);
      int into_rest = 0, sorted_row = 0;
      for (int64_t i = 0; i < n_out; ++i) {
        if (top_k[i] == 0) continue;
        float* row = want_logits.data() + i * n_vocab;
        kernels::apply_logit_edits(row, n_vocab, edits.data() + edit_begin[i],
                                   edit_begin[i + 1] - edit_begin[i]);
        if (top_k[i] > 0) {
          kernels::select_top_k(row, n_vocab, top_k[i], want.data() + i * max_k);
          continue;
        }
        std::vector<TokenCandidate> best(static_cast<size_t>(m));
        kernels::select_top_k(row, n_vocab, m, best.data());
        const int32_t token = kernels::draw_from_row(row, n_vocab, best.data(), m, draws[i]);
        want[i * max_k] = {token, token >= 0 ? row[token] : 0.0f};
        sorted_row += token == kernels::kDrawNeedsSortedRow;
        into_rest += token >= 0 && std::none_of(best.begin(), best.end(),
                                                [&](auto& c) { return c.token == token; });
      }

      backend::BatchDesc desc = batch.desc();
      desc.output_top_k = top_k.data();
      desc.output_edit_begin = edit_begin.data();
      desc.logit_edits = edits.data();
      desc.output_draw = draws.data();
      const std::string shape =
          fmt::format("vocab={} rows={} rest={} sorted={}", n_vocab, n_out, into_rest, sorted_row);
      run_and_compare(run, "draw_from_row", shape, desc, logits, n_vocab, max_k, want, want_logits,
                      sentinel);
    }
  }
}

}  // namespace

void run_backend_select_tests(BackendRun& run) {
  check_select_top_k(run);
  check_draw_from_row(run);
}

}  // namespace tenbin::optest
