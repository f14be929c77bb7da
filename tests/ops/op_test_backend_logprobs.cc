// Backend check of raw_logprobs (OpenAI logprobs from the raw rows, kernels/token_logprobs.h)
// against the host functions on random rows: the same best tokens and logit bits, the
// normalizer within the bound of op_test_backend.h's table, the raw logits of every edit's token
// (NaN outside the row), the rows themselves left as they were, and nothing written for rows
// that report no logprobs. Rows include heavy ties, signed zeros, NaN and infinities, rows of
// -inf only and a row of NaN only, over fixed and random vocabulary sizes, next to rows that
// select or draw in the same batch.
#include <bit>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "kernels/token_logprobs.h"
#include "op_test_backend.h"

namespace tenbin::optest {
namespace {

using backend::Buffer;
using kernels::LogitEdit;
using kernels::RowLogprobs;

// Relative error of a normalizer; a non-finite one must be the same value (NaN: any NaN).
double log_z_error(float want, float got) {
  if (std::isnan(want) || std::isnan(got))
    return std::isnan(want) && std::isnan(got) ? 0 : INFINITY;
  if (!std::isfinite(want) || !std::isfinite(got)) return want == got ? 0 : INFINITY;
  return std::abs(static_cast<double>(got) - want) /
         std::max(1.0, std::abs(static_cast<double>(want)));
}

void check_raw_logprobs(BackendRun& run) {
  RowLogprobs sentinel;
  sentinel.log_z = std::bit_cast<float>(0x7FC0BEEFu);
  sentinel.n_top = -5;
  for (auto& c : sentinel.top) c = {-7, std::bit_cast<float>(0x7FC0BEEFu)};
  const float edit_sentinel = std::bit_cast<float>(0x7FC0CAFEu);
  const double log_z_bound = run.bounds.host ? 0.0 : 1e-6;
  std::uniform_int_distribution<int64_t> any_vocab(2, 70000);
  std::uniform_int_distribution<int32_t> any_n(0, kernels::kMaxLogprobs);
  for (int64_t n_vocab :
       {int64_t{7}, int64_t{50}, int64_t{1000}, int64_t{32003}, any_vocab(run.rng)}) {
    for (const HostBatch& batch : {linear_batch(10), ragged_batch(run.rng, {{0, 3}, {5, 1}}, 16,
                                                                  static_cast<int32_t>(n_vocab))}) {
      const auto n_out = static_cast<int64_t>(batch.output_rows.size());
      std::vector<int32_t> top_k(n_out), logprobs(n_out), edit_begin{0};
      std::vector<LogitEdit> edits;
      std::vector<float> logits;
      for (int64_t i = 0; i < n_out; ++i) {
        const int32_t counts[] = {-1, 0, 1, 5, kernels::kMaxLogprobs, any_n(run.rng)};
        logprobs[i] = counts[(i + n_vocab) % 6];
        top_k[i] = i % 3 == 0 ? 0 : 1;  // whole rows and selecting rows both report
        auto row = make_logit_row(run.rng, n_vocab, static_cast<LogitRowKind>(i % 4));
        if (i % 7 == 5) std::fill(row.begin(), row.end(), -INFINITY);
        if (i == 8) std::fill(row.begin(), row.end(), NAN);
        if (i % 2 == 1) {
          for (float& v : row) v *= 40.0f;  // one token takes nearly all the mass
        }
        logits.insert(logits.end(), row.begin(), row.end());
        const auto row_edits = make_logit_edits(run.rng, n_vocab);
        edits.insert(edits.end(), row_edits.begin(), row_edits.end());
        edit_begin.push_back(static_cast<int32_t>(edits.size()));
      }

      std::vector<RowLogprobs> want(static_cast<size_t>(n_out), sentinel);
      std::vector<float> want_edit_raw(edits.size(), edit_sentinel);
      for (int64_t i = 0; i < n_out; ++i) {
        if (logprobs[i] < 0) continue;
        const float* row = logits.data() + i * n_vocab;
        kernels::row_logprobs(row, n_vocab, logprobs[i], &want[i]);
        for (int32_t e = edit_begin[i]; e < edit_begin[i + 1]; ++e) {
          const int32_t t = edits[e].token;
          want_edit_raw[e] = t >= 0 && t < n_vocab ? row[t] : NAN;
        }
      }

      backend::BatchDesc desc = batch.desc();
      desc.output_top_k = top_k.data();
      desc.output_edit_begin = edit_begin.data();
      desc.logit_edits = edits.data();
      desc.output_logprobs = logprobs.data();
      const std::string shape =
          fmt::format("vocab={} outputs={} edits={}", n_vocab, n_out, edits.size());
      const Buffer dl = to_device(run.dev, logits);
      const Buffer drows = to_device(run.dev, std::vector<RowLogprobs>(want.size(), sentinel));
      const Buffer dedits =
          to_device(run.dev, std::vector<float>(std::max<size_t>(edits.size(), 1), edit_sentinel));
      if (const Status s = run.dev.begin_forward(desc, run.pool); !s.ok()) {
        run.check("raw_logprobs", shape + " begin_forward: " + s.message(), INFINITY, 0);
        continue;
      }
      run.dev.raw_logprobs(dl.as<float>(), n_vocab, drows.as<RowLogprobs>(), dedits.as<float>());
      const auto got = to_host<RowLogprobs>(run.dev, drows, want.size());
      const auto got_edit_raw = to_host<float>(run.dev, dedits, edits.size());
      const auto got_logits = to_host<float>(run.dev, dl, logits.size());

      // Everything but the normalizers bit for bit; the normalizers within the bound.
      double log_z_err = 0;
      int64_t differing = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        RowLogprobs w = want[i], g = got[i];
        if (logprobs[i] >= 0) {
          log_z_err = std::max(log_z_err, log_z_error(w.log_z, g.log_z));
          w.log_z = g.log_z = 0;
        }
        differing += bit_mismatches(&w, &g, sizeof(RowLogprobs));
      }
      run.check("raw_logprobs", shape, static_cast<double>(differing), kTolExact);
      run.check("raw_logprobs log_z", shape, log_z_err, log_z_bound);
      run.check("raw_logprobs edits", shape,
                bit_mismatches(want_edit_raw.data(), got_edit_raw.data(), edits.size() * 4),
                kTolExact);
      run.check("raw_logprobs rows kept", shape,
                bit_mismatches(logits.data(), got_logits.data(), logits.size() * 4), kTolExact);
    }
  }
}

}  // namespace

void run_backend_logprobs_tests(BackendRun& run) {
  check_raw_logprobs(run);
}

}  // namespace tenbin::optest
