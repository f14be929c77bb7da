#include "server/generation_job.h"

#include <random>

#include "server/http/response.h"
#include "server/openai/errors.h"

namespace tenbin::server {
namespace {

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

openai::TokenLogprob to_logprob(const Tokenizer& tokenizer, const TokenEvent& e) {
  openai::TokenLogprob lp;
  lp.token = tokenizer.token_to_piece(e.token);
  lp.logprob = e.logprob;
  for (const TokenLogprob& alt : e.top) {
    lp.top_logprobs.push_back({tokenizer.token_to_piece(alt.token), alt.logprob});
  }
  return lp;
}

}  // namespace

GenerationJob::GenerationJob(JobKind kind, const openai::GenerationParams& params,
                             std::string model_name, const Tokenizer& tokenizer,
                             ServingMetrics& metrics, std::shared_ptr<http::Responder> responder)
    : kind_(kind),
      params_(params),
      tokenizer_(tokenizer),
      metrics_(metrics),
      responder_(std::move(responder)),
      meta_(kind == JobKind::kChat ? openai::chat_meta(std::move(model_name))
                                   : openai::completion_meta(std::move(model_name))) {
  if (kind_ == JobKind::kChat) {
    chat_stream_.emplace(meta_, params_.include_usage);
  } else {
    completion_stream_.emplace(meta_, params_.include_usage);
  }
}

void GenerationJob::start(ServingEngine& engine, std::vector<JobChoiceInput> inputs) {
  std::lock_guard<std::mutex> lock(mu_);
  choices_.resize(inputs.size());
  remaining_ = inputs.size();
  const uint64_t base_seed =
      params_.has_seed ? params_.sampling.seed : std::random_device{}() * 2654435761ull;
  std::vector<int64_t> submitted;
  auto self = shared_from_this();
  for (size_t i = 0; i < inputs.size(); ++i) {
    Choice& ch = choices_[i];
    ch.index = static_cast<int>(i);
    ch.prompt_tokens = static_cast<int64_t>(inputs[i].prompt.size());
    ch.detok = std::make_unique<StreamingDetokenizer>(tokenizer_);
    ch.stop = std::make_unique<openai::StopMatcher>(params_.stop);
    GenerationRequest r;
    r.prompt = std::move(inputs[i].prompt);
    r.max_tokens = inputs[i].max_tokens;
    r.priority = params_.priority;
    r.sampling = params_.sampling;
    r.sampling.seed = base_seed + i;
    r.ignore_eos = params_.ignore_eos;
    r.logprobs = params_.logprobs ? params_.top_logprobs : -1;
    r.grammar = params_.grammar;
    r.on_token = [self, i](const TokenEvent& e) { return self->on_token(i, e); };
    r.on_finish = [self, i](const FinishEvent& f) { self->on_finish(i, f); };
    SubmitResult s = engine.submit(std::move(r));
    if (s.error != SubmitError::kNone) {
      for (int64_t id : submitted) engine.cancel(id);
      failed_ = true;
      remaining_ = 0;
      if (s.error == SubmitError::kQueueFull) {
        fail_locked(openai::too_many_requests(s.message, 1), "rejected");
      } else if (s.error == SubmitError::kStopped) {
        fail_locked(openai::service_unavailable(s.message), "rejected");
      } else {
        fail_locked(openai::bad_request(s.message, params_.max_tokens ? "max_tokens" : "messages"),
                    "rejected");
      }
      return;
    }
    ch.engine_id = s.id;
    submitted.push_back(s.id);
  }
  if (params_.stream) {
    responder_->start_sse();
    sse_started_ = true;
    if (chat_stream_) {
      for (const Choice& ch : choices_) responder_->send_event(chat_stream_->role_chunk(ch.index));
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].echo_text.empty()) emit_text(choices_[i], inputs[i].echo_text, nullptr);
  }
  ServingEngine* e = &engine;
  responder_->on_cancel([e, submitted] {
    for (int64_t id : submitted) e->cancel(id);
  });
}

bool GenerationJob::on_token(size_t c, const TokenEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) return true;
  Choice& ch = choices_[c];
  const auto now = std::chrono::steady_clock::now();
  if (!first_token_seen_) {
    first_token_seen_ = true;
    metrics_.observe_ttft(seconds(now - arrival_));
  } else if (ch.completion_tokens > 0) {
    metrics_.observe_itl(seconds(now - ch.last_token));
  }
  ch.last_token = now;
  ++ch.completion_tokens;
  openai::StopMatcher::Result r = ch.stop->feed(ch.detok->push(event.token));
  emit_text(ch, r.text, params_.logprobs ? &event : nullptr);
  return r.stopped || (params_.stream && responder_->cancelled());
}

void GenerationJob::emit_text(Choice& ch, const std::string& text, const TokenEvent* event) {
  std::vector<openai::TokenLogprob> lp;
  if (event != nullptr) lp.push_back(to_logprob(tokenizer_, *event));
  if (!params_.stream) {
    ch.text += text;
    ch.logprobs.insert(ch.logprobs.end(), lp.begin(), lp.end());
    return;
  }
  if (text.empty() && lp.empty()) return;
  std::string chunk =
      chat_stream_
          ? chat_stream_->content_chunk(ch.index, text, event != nullptr, lp)
          : completion_stream_->text_chunk(ch.index, text, event != nullptr, lp, ch.streamed_bytes);
  ch.streamed_bytes += text.size();
  responder_->send_event(chunk);
}

void GenerationJob::on_finish(size_t c, const FinishEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  Choice& ch = choices_[c];
  if (ch.finished) return;
  ch.finished = true;
  ch.prompt_tokens = event.prompt_tokens;
  if (event.queue_seconds >= 0) metrics_.observe_queue_time(event.queue_seconds);
  if (event.reason == FinishReason::kStop || event.reason == FinishReason::kLength) {
    bool matched = ch.stop->stopped();
    if (!matched) {
      openai::StopMatcher::Result r = ch.stop->feed(ch.detok->flush());
      matched = r.stopped;
      emit_text(ch, matched ? r.text : r.text + ch.stop->flush(), nullptr);
    }
    ch.finish = event.reason == FinishReason::kStop || matched ? openai::FinishReason::kStop
                                                               : openai::FinishReason::kLength;
    if (params_.stream && !failed_) {
      responder_->send_event(chat_stream_ ? chat_stream_->finish_chunk(ch.index, ch.finish)
                                          : completion_stream_->finish_chunk(ch.index, ch.finish));
    }
  } else if (event.reason == FinishReason::kError && !failed_) {
    failed_ = true;
    error_ = event.error;
  } else if (event.reason == FinishReason::kCancelled && error_.empty()) {
    error_ = event.error.empty() ? "cancelled" : event.error;
    timed_out_ = event.timed_out;
  }
  if (--remaining_ == 0) complete_locked();
}

void GenerationJob::complete_locked() {
  metrics_.observe_e2e(seconds(std::chrono::steady_clock::now() - arrival_));
  const bool cancelled = !failed_ && !error_.empty();
  if (failed_ || cancelled) {
    if (responder_->cancelled()) {
      metrics_.observe_request("cancelled");
      return;
    }
    if (timed_out_) {
      fail_locked(openai::request_timeout(error_), "cancelled");
      return;
    }
    fail_locked(failed_ ? openai::internal_error(error_)
                        : openai::service_unavailable("the request was cancelled: " + error_),
                failed_ ? "error" : "cancelled");
    return;
  }
  openai::Usage usage;
  const size_t per_prompt = static_cast<size_t>(std::max(1, params_.n));
  for (const Choice& ch : choices_) {
    if (ch.index % per_prompt == 0) usage.prompt_tokens += ch.prompt_tokens;
    usage.completion_tokens += ch.completion_tokens;
  }
  metrics_.observe_request(choices_.front().finish == openai::FinishReason::kStop ? "stop"
                                                                                  : "length");
  if (params_.stream) {
    if (params_.include_usage) {
      responder_->send_event(chat_stream_ ? chat_stream_->usage_chunk(usage)
                                          : completion_stream_->usage_chunk(usage));
    }
    responder_->finish_sse(true);
    return;
  }
  std::string body;
  if (kind_ == JobKind::kChat) {
    std::vector<openai::ChatChoice> out;
    for (const Choice& ch : choices_) {
      out.push_back({ch.index, ch.text, ch.finish, params_.logprobs, ch.logprobs});
    }
    body = openai::chat_response(meta_, out, usage);
  } else {
    std::vector<openai::CompletionChoice> out;
    for (const Choice& ch : choices_) {
      out.push_back({ch.index, ch.text, ch.finish, params_.logprobs, ch.logprobs, 0});
    }
    body = openai::completion_response(meta_, out, usage);
  }
  responder_->reply(http::HttpResponse::json(200, std::move(body)));
}

void GenerationJob::fail_locked(http::HttpResponse response, const char* outcome) {
  metrics_.observe_request(outcome);
  if (sse_started_) {
    // Headers are gone already: the error travels as an event, as OpenAI's streams do.
    responder_->send_event(response.body);
    responder_->finish_sse(false);
    return;
  }
  responder_->reply(std::move(response));
}

}  // namespace tenbin::server
