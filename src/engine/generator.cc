#include "engine/generator.h"

#include <algorithm>
#include <chrono>

namespace tenbin {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Status Generator::generate(const std::vector<int32_t>& prompt, const GenerateOptions& options,
                           KvCache& cache, const TokenCallback& on_token, GenerateStats* stats) {
  if (prompt.empty()) return Status::Error("the prompt is empty (no tokens)");
  TENBIN_RETURN_IF_ERROR(options.sampling.validate());
  const int64_t n_ctx =
      options.n_ctx > 0 ? std::min(options.n_ctx, cache.n_slots()) : cache.n_slots();
  const std::vector<int32_t> table = contiguous_block_table(n_ctx, cache.block_size());
  if (static_cast<int64_t>(prompt.size()) >= n_ctx) {
    return Status::Errorf("the prompt has {} tokens but the context holds {}; raise --ctx",
                          prompt.size(), n_ctx);
  }
  GenerateStats local;
  GenerateStats& s = stats ? *stats : local;
  s = GenerateStats{};
  Sampler sampler(options.sampling);
  std::vector<int32_t> history = prompt;
  const int64_t chunk = std::max<int32_t>(1, options.prefill_chunk);

  // A forward whose one output row is sampled where the logits are (Backend::select_top_k).
  const int64_t n_vocab = model_.config().n_vocab;
  std::vector<OutputSelect> select(1);
  std::vector<float> row;
  auto forward_and_sample = [&](const Batch& b) -> Expected<int32_t> {
    sampler.plan(history, n_vocab, &select[0]);
    auto out = model_.forward(b, cache, pool_, select);
    if (!out.ok()) return out.status();
    if (!out->selected(0)) return sampler.finish_whole(select[0], out->row(0));
    const int32_t token = sampler.finish(select[0], out->best_of(0, select[0].best_entries()));
    if (token != kernels::kDrawNeedsSortedRow) return token;
    row.resize(static_cast<size_t>(n_vocab));
    TENBIN_RETURN_IF_ERROR(model_.fetch_row(0, row));
    return Sampler::draw_sorted(row, select[0].draw);
  };

  // Prefill: logits only for the last prompt token.
  auto start = std::chrono::steady_clock::now();
  Expected<int32_t> token = 0;
  Batch batch;
  for (size_t begin = 0; begin < prompt.size(); begin += chunk) {
    const size_t end = std::min(prompt.size(), begin + static_cast<size_t>(chunk));
    batch.clear();
    const int32_t seq = batch.add_block_table(table);
    for (size_t i = begin; i < end; ++i) {
      batch.add(prompt[i], static_cast<int32_t>(i), seq, i + 1 == prompt.size());
    }
    if (end < prompt.size()) {
      auto out = model_.forward(batch, cache, pool_);
      if (!out.ok()) return out.status();
    } else {
      token = forward_and_sample(batch);
      if (!token.ok()) return token.status();
    }
  }
  s.prompt_tokens = static_cast<int64_t>(prompt.size());
  s.prompt_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  for (int32_t step = 0; step < options.max_new_tokens; ++step) {
    history.push_back(*token);
    ++s.generated_tokens;
    if (!on_token(*token)) break;
    if (options.stop_at_end_of_generation && tokenizer_.is_end_of_generation(*token)) break;
    const int64_t pos = static_cast<int64_t>(history.size()) - 1;
    if (step + 1 == options.max_new_tokens || pos >= n_ctx) break;
    batch.clear();
    batch.add(*token, static_cast<int32_t>(pos), batch.add_block_table(table), true);
    token = forward_and_sample(batch);
    if (!token.ok()) return token.status();
  }
  s.generate_seconds = seconds_since(start);
  return Status::Ok();
}

}  // namespace tenbin
