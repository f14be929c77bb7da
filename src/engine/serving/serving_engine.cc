#include "engine/serving/serving_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace tenbin {
namespace {

// The chosen token's logprob (its raw logit's log-softmax) and the row's k most likely tokens,
// from what the backend reported of the raw row.
void fill_logprobs(const kernels::RowLogprobs& row, float chosen_raw_logit, int32_t k,
                   TokenEvent* event) {
  event->logprob = chosen_raw_logit - row.log_z;
  for (int32_t i = 0; i < std::min(k, row.n_top); ++i) {
    event->top.push_back({row.top[i].token, row.top[i].logit - row.log_z});
  }
}

}  // namespace

Expected<std::unique_ptr<ServingEngine>> ServingEngine::create(LlamaModel& model,
                                                               const Tokenizer& tokenizer,
                                                               const ServingOptions& options) {
  ServingOptions o = options;
  if (o.max_context <= 0) o.max_context = model.config().n_ctx_train;
  auto cache = model.make_kv_cache_for_bytes(o.kv_cache_bytes, o.block_size, o.kv_type);
  if (!cache.ok()) return cache.status();
  SchedulerOptions sched;
  sched.max_batch_tokens = o.max_batch_tokens;
  sched.prefill_first = o.prefill_first;
  sched.max_num_seqs = o.max_num_seqs;
  sched.max_context = static_cast<int32_t>(o.max_context);
  TENBIN_RETURN_IF_ERROR(sched.validate());
  BlockPoolOptions pool;
  pool.n_blocks = static_cast<int32_t>(cache->n_blocks());
  pool.block_size = o.block_size;
  pool.enable_prefix_cache = o.enable_prefix_cache;
  TENBIN_RETURN_IF_ERROR(pool.validate());
  if (o.max_waiting < 1)
    return Status::Errorf("max waiting requests {} must be >= 1", o.max_waiting);
  return std::unique_ptr<ServingEngine>(
      new ServingEngine(model, tokenizer, o, std::move(*cache), sched, pool));
}

ServingEngine::ServingEngine(LlamaModel& model, const Tokenizer& tokenizer,
                             const ServingOptions& options, KvCache cache,
                             const SchedulerOptions& sched, const BlockPoolOptions& pool)
    : model_(model),
      tokenizer_(tokenizer),
      options_(options),
      cache_(std::move(cache)),
      pool_(std::max(1, options.threads)),
      scheduler_(sched, pool) {
  stats_.kv_blocks = pool.n_blocks;
}

ServingEngine::~ServingEngine() {
  stop();
}

void ServingEngine::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { loop(); });
}

void ServingEngine::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SubmitResult ServingEngine::submit(GenerationRequest request) {
  SubmitResult result;
  if (request.prompt.empty()) {
    result.error = SubmitError::kInvalid;
    result.message = "the prompt is empty";
    return result;
  }
  if (request.logprobs < -1 || request.logprobs > kernels::kMaxLogprobs) {
    result.error = SubmitError::kInvalid;
    result.message =
        fmt::format("logprobs {} must be in [0, {}]", request.logprobs, kernels::kMaxLogprobs);
    return result;
  }
  const int64_t total = static_cast<int64_t>(request.prompt.size()) + request.max_tokens;
  if (total > options_.max_context) {
    result.error = SubmitError::kInvalid;
    result.message = fmt::format(
        "this model's maximum context length is {} tokens; the prompt has {} tokens and "
        "max_tokens is {} ({} in total)",
        options_.max_context, request.prompt.size(), request.max_tokens, total);
    return result;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      result.error = SubmitError::kStopped;
      result.message = "the server is shutting down";
      return result;
    }
    if (queued_ - stats_.running >= options_.max_waiting) {
      result.error = SubmitError::kQueueFull;
      result.message =
          fmt::format("too many waiting requests ({}); retry later", queued_ - stats_.running);
      return result;
    }
    result.id = next_id_++;
    ++queued_;
    inbox_.emplace_back(result.id, std::move(request));
  }
  wake_.notify_one();
  return result;
}

void ServingEngine::cancel(int64_t id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancels_.push_back(id);
  }
  wake_.notify_one();
}

EngineStats ServingEngine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void ServingEngine::loop() {
  while (drain_inbox()) run_step();
  // Stopping: everything still known to the engine ends as cancelled.
  std::vector<int64_t> ids;
  for (const auto& [id, live] : live_) ids.push_back(id);
  for (int64_t id : ids) finish(id, FinishEvent{FinishReason::kCancelled, "the server stopped"});
  std::vector<std::pair<int64_t, GenerationRequest>> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(inbox_);
  }
  for (auto& [id, request] : rest) {
    if (request.on_finish)
      request.on_finish(FinishEvent{FinishReason::kCancelled, "the server stopped"});
  }
}

bool ServingEngine::drain_inbox() {
  std::vector<std::pair<int64_t, GenerationRequest>> incoming;
  std::vector<int64_t> cancels;
  {
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait(lock, [&] {
      return stopping_ || !inbox_.empty() || !cancels_.empty() || scheduler_.has_unfinished();
    });
    if (stopping_) return false;
    incoming.swap(inbox_);
    cancels.swap(cancels_);
  }
  for (auto& [id, request] : incoming) {
    SequenceRequest seq;
    seq.id = id;
    seq.prompt = request.prompt;
    seq.max_tokens = request.max_tokens;
    seq.priority = request.priority;
    Live live;
    live.arrived = std::chrono::steady_clock::now();
    live.request = std::move(request);
    live.sampler = std::make_unique<Sampler>(live.request.sampling);
    if (live.request.grammar) {
      if (!token_bytes_) token_bytes_ = std::make_shared<const grammar::TokenBytes>(tokenizer_);
      live.constraint = std::make_unique<grammar::TokenConstraint>(
          live.request.grammar, token_bytes_, !live.request.ignore_eos);
    }
    if (options_.request_timeout_s > 0) {
      live.deadline = std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(options_.request_timeout_s));
    }
    live_.emplace(id, std::move(live));
    Status st = scheduler_.add(std::move(seq));
    if (!st.ok()) finish(id, FinishEvent{FinishReason::kError, st.message()});
  }
  for (int64_t id : cancels) scheduler_.cancel(id);
  expire_deadlines();
  return true;
}

void ServingEngine::expire_deadlines() {
  if (options_.request_timeout_s <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto& [id, live] : live_) {
    if (!live.timed_out && now >= live.deadline) {
      live.timed_out = true;
      scheduler_.cancel(id);
    }
  }
}

void ServingEngine::run_step() {
  SchedulerOutput out = scheduler_.step();
  // As after the forward below: stats before the responses of finished sequences go out.
  if (!out.finished.empty() || out.empty()) publish_stats();
  for (const SeqEvent& e : out.finished) finish(e.seq_id, FinishEvent{e.finish, e.error});
  if (out.empty()) return;

  Batch batch;
  std::vector<size_t> logit_rows;  // index into out.seqs of each logits row
  for (size_t s = 0; s < out.seqs.size(); ++s) {
    const ScheduledSeq& seq = out.seqs[s];
    const int32_t slot = static_cast<int32_t>(batch.block_tables.size());
    batch.block_tables.push_back(seq.block_table);
    for (size_t i = 0; i < seq.tokens.size(); ++i) {
      const bool last = i + 1 == seq.tokens.size();
      batch.add(seq.tokens[i], static_cast<int32_t>(seq.start_position + i), slot,
                last && seq.want_logits);
    }
    if (seq.want_logits) logit_rows.push_back(s);
  }
  // Each row is sampled where the logits are (the GPU selects its few best tokens, or draws,
  // and reports logprobs from the raw row) unless the sampler needs the row whole; a grammar
  // that refuses the draw reads the row afterwards.
  const int64_t n_vocab = model_.config().n_vocab;
  std::vector<OutputSelect> select(logit_rows.size());
  for (size_t r = 0; r < logit_rows.size(); ++r) {
    const int64_t id = out.seqs[logit_rows[r]].seq_id;
    Live& live = live_.at(id);
    const std::vector<int32_t>& history = scheduler_.find(id)->tokens;
    if (!options_.sample_on_host) {
      live.sampler->plan(history, n_vocab, &select[r]);
    } else {
      select[r].edits = live.sampler->logit_edits(history);  // a whole row: the host applies them
    }
    select[r].logprobs = live.request.logprobs;
  }
  auto logits = model_.forward(batch, cache_, pool_, select);
  RunnerOutput runner;
  if (!logits.ok()) {
    // A failed forward fails every sequence of the step; the engine keeps serving others.
    for (const ScheduledSeq& seq : out.seqs) scheduler_.cancel(seq.seq_id);
    for (size_t r = 0; r < logit_rows.size(); ++r) {
      runner.tokens.push_back({out.seqs[logit_rows[r]].seq_id, 0, true});
    }
    std::vector<SeqEvent> ignored;
    (void)scheduler_.update(runner, &ignored);
    for (const ScheduledSeq& seq : out.seqs) {
      finish(seq.seq_id, FinishEvent{FinishReason::kError, logits.status().message()});
    }
    return;
  }

  for (const ScheduledSeq& seq : out.seqs) {
    const SequenceState* state = scheduler_.find(seq.seq_id);
    const int64_t in_prompt = std::clamp<int64_t>(state->num_prompt_tokens - seq.start_position, 0,
                                                  static_cast<int64_t>(seq.tokens.size()));
    prompt_tokens_ += in_prompt;
    Live& live = live_.at(seq.seq_id);
    live.cached_tokens = state->num_cached_tokens;
    if (live.queue_seconds < 0) {
      live.queue_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - live.arrived).count();
    }
  }
  for (size_t r = 0; r < logit_rows.size(); ++r) {
    const ScheduledSeq& seq = out.seqs[logit_rows[r]];
    Live& live = live_.at(seq.seq_id);
    TokenEvent event;
    bool dead_end = false;
    // The row with its edits applied, where the host has it: whole rows after finish_whole(), a
    // selected row read back from the backend only when a draw needs it.
    std::span<float> edited;
    std::vector<float> fetched;
    auto fetch_row = [&] {
      fetched.resize(static_cast<size_t>(n_vocab));
      const Status st = model_.fetch_row(static_cast<int64_t>(r), fetched);
      if (st.ok()) {
        edited = fetched;
      } else {  // cannot happen for rows of this forward; stop rather than guess
        std::fprintf(stderr, "tenbin: %s\n", st.message().c_str());
        dead_end = true;
        event.token = 0;
      }
      return st.ok();
    };
    const auto best = logits->selected(r) ? logits->best_of(r, select[r].best_entries())
                                          : std::span<const kernels::TokenCandidate>{};
    if (logits->selected(r)) {
      event.token = live.sampler->finish(select[r], best);
      if (event.token == kernels::kDrawNeedsSortedRow && fetch_row()) {
        event.token = Sampler::draw_sorted(edited, select[r].draw);
      }
    } else {
      edited = logits->row(r);
      event.token = live.sampler->finish_whole(select[r], edited);
    }
    // Constrained: a draw the grammar refuses is drawn again from the masked row (masking the
    // edited row is editing the masked one: -inf stays -inf).
    if (!dead_end && live.constraint && !live.constraint->allows(event.token) &&
        (!edited.empty() || fetch_row())) {
      dead_end = live.constraint->mask(edited) == 0;
      if (!dead_end) event.token = live.sampler->draw_edited(edited);
    }
    if (live.request.logprobs >= 0 && !dead_end) {
      // The token's logit after the edits: in the row where the host has it, else among the
      // candidates it was taken from.
      float edited_logit = 0;
      if (!edited.empty()) {
        edited_logit = edited[static_cast<size_t>(event.token)];
      } else {
        for (const kernels::TokenCandidate& c : best) {
          if (c.token == event.token) edited_logit = c.logit;
        }
      }
      const float raw = logits->raw_logit(r, select[r].edits, event.token, edited_logit);
      fill_logprobs(logits->logprobs_of(r), raw, live.request.logprobs, &event);
    }
    ++live.generated_tokens;
    ++generated_tokens_;
    // An end-of-generation token ends the sequence and is not part of its text; so does a token
    // drawn where the grammar allows none (a vocabulary that can not spell what must come).
    const bool end_token = tokenizer_.is_end_of_generation(event.token);
    bool stop = dead_end || (!live.request.ignore_eos && end_token);
    if (!stop && live.request.on_token) stop = live.request.on_token(event);
    if (live.constraint && !dead_end && !end_token) {
      live.constraint->accept(event.token);
      if (live.constraint->finished()) stop = true;
    }
    runner.tokens.push_back({seq.seq_id, event.token, stop});
  }
  std::vector<SeqEvent> events;
  Status st = scheduler_.update(runner, &events);
  // Stats first: a client that got its response and then reads /metrics sees its blocks freed.
  publish_stats();
  for (const SeqEvent& e : events) {
    if (e.finish != FinishReason::kNone) finish(e.seq_id, FinishEvent{e.finish, e.error});
  }
  // A rejected update means runner and scheduler disagree (an engine bug): say so loudly;
  // the sequences it named were finished above or stay owned by the scheduler.
  if (!st.ok())
    std::fprintf(stderr, "tenbin: scheduler update rejected: %s\n", st.message().c_str());
}

void ServingEngine::finish(int64_t id, const FinishEvent& event) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  FinishEvent full = event;
  full.prompt_tokens = static_cast<int64_t>(it->second.request.prompt.size());
  full.cached_prompt_tokens = it->second.cached_tokens;
  full.completion_tokens = it->second.generated_tokens;
  full.queue_seconds = it->second.queue_seconds;
  full.timed_out = it->second.timed_out && event.reason == FinishReason::kCancelled;
  if (full.timed_out) full.error = "the request timed out";
  GenerationRequest request = std::move(it->second.request);
  live_.erase(it);
  {
    std::lock_guard<std::mutex> lock(mu_);
    --queued_;
  }
  if (request.on_finish) request.on_finish(full);
}

void ServingEngine::publish_stats() {
  SchedulerStats s = scheduler_.stats();
  BlockPoolStats p = scheduler_.block_pool().stats();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.running = s.num_running;
  stats_.waiting = s.num_waiting + static_cast<int64_t>(inbox_.size());
  stats_.preemptions = s.num_preemptions;
  stats_.steps = s.num_steps;
  stats_.kv_usage = p.usage();
  stats_.kv_blocks = p.n_blocks;
  stats_.prefix_query_tokens = p.prefix_query_tokens;
  stats_.prefix_hit_tokens = p.prefix_hit_tokens;
  stats_.prompt_tokens = prompt_tokens_;
  stats_.generated_tokens = generated_tokens_;
}

}  // namespace tenbin
