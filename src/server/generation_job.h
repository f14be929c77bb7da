// One OpenAI request in flight: its choices (prompt x n sequences in the engine), their
// detokenizers and stop matchers, and how results go back (SSE chunks as tokens arrive, or one
// JSON body at the end). Engine callbacks (engine thread) and the submitting handler (I/O
// thread) share it, so every method takes the job's lock.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/serving/serving_engine.h"
#include "model/tokenizer/tokenizer.h"
#include "server/http/responder.h"
#include "server/openai/generation_params.h"
#include "server/openai/responses.h"
#include "server/openai/stop_matcher.h"
#include "server/serving_metrics.h"

namespace tenbin::server {

enum class JobKind { kCompletion, kChat };

struct JobChoiceInput {
  std::vector<int32_t> prompt;
  std::string echo_text;  // completions with echo: the prompt text in front of the output
  int32_t max_tokens = 16;
};

class GenerationJob : public std::enable_shared_from_this<GenerationJob> {
 public:
  GenerationJob(JobKind kind, const openai::GenerationParams& params, std::string model_name,
                const Tokenizer& tokenizer, ServingMetrics& metrics,
                std::shared_ptr<http::Responder> responder);

  // Submits every choice; on a refusal cancels what was submitted and replies the error.
  void start(ServingEngine& engine, std::vector<JobChoiceInput> choices);

 private:
  struct Choice {
    int index = 0;
    int64_t engine_id = -1;
    int64_t prompt_tokens = 0;
    std::unique_ptr<StreamingDetokenizer> detok;
    std::unique_ptr<openai::StopMatcher> stop;
    std::string text;  // non-streaming: the whole output
    std::vector<openai::TokenLogprob> logprobs;
    size_t streamed_bytes = 0;
    int64_t completion_tokens = 0;
    std::chrono::steady_clock::time_point last_token;
    bool finished = false;
    openai::FinishReason finish = openai::FinishReason::kLength;
  };

  bool on_token(size_t c, const TokenEvent& event);  // true: stop the sequence
  void on_finish(size_t c, const FinishEvent& event);
  void emit_text(Choice& choice, const std::string& text, const TokenEvent* event);
  void complete_locked();  // all choices done: usage, final chunk or body
  void fail_locked(http::HttpResponse response, const char* outcome);

  JobKind kind_;
  openai::GenerationParams params_;
  const Tokenizer& tokenizer_;
  ServingMetrics& metrics_;
  std::shared_ptr<http::Responder> responder_;
  openai::ResponseMeta meta_;
  std::optional<openai::CompletionStream> completion_stream_;
  std::optional<openai::ChatStream> chat_stream_;

  std::mutex mu_;
  std::vector<Choice> choices_;  // guarded by mu_
  size_t remaining_ = 0;
  bool failed_ = false;
  bool first_token_seen_ = false;
  bool sse_started_ = false;
  bool timed_out_ = false;
  std::string error_;
  const std::chrono::steady_clock::time_point arrival_ = std::chrono::steady_clock::now();
};

}  // namespace tenbin::server
