// The serving engine: one thread owns the scheduler, the paged KV cache and the model, and runs
// the step loop (schedule -> one forward over the flat batch -> sample -> update). Requests come
// in from any thread through submit()/cancel(); their tokens go out through callbacks that run
// on the engine thread (they must be quick: detokenize, match stop strings, post to a socket).
// Thread-safety: submit, cancel, stats, start and stop are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/grammar/grammar.h"
#include "engine/grammar/token_constraint.h"
#include "engine/sampler.h"
#include "engine/scheduler/scheduler.h"
#include "model/arch/llama_model.h"
#include "model/kv_cache.h"
#include "model/tokenizer/tokenizer.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace tenbin {

struct ServingOptions {
  int threads = 1;                  // compute threads of the forward pass
  double kv_cache_bytes = 1 << 30;  // --kv-cache-gib
  int32_t block_size = 16;
  int32_t max_batch_tokens = 512;  // --max-batch-tokens
  int32_t max_num_seqs = 32;       // --max-num-seqs
  bool prefill_first = false;      // --prefill-first (SchedulerOptions::prefill_first)
  int32_t max_waiting = 256;       // submissions beyond this are refused (the server's 429)
  int64_t max_context = 0;         // 0: the model's training context
  bool enable_prefix_cache = true;
  DType kv_type = DType::kF16;
  double request_timeout_s = 0;  // > 0: a request still unfinished after this is cancelled
  // Every output row read whole and sampled by the host (the recipe a backend's selection and
  // draw must equal): for comparisons. Logprobs still come from the backend.
  bool sample_on_host = false;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
};

// What the engine tells a request about one generated token.
struct TokenEvent {
  int32_t token = 0;
  float logprob = 0;              // log-softmax of the raw logits (when requested)
  std::vector<TokenLogprob> top;  // the most likely alternatives (when requested)
};

struct FinishEvent {
  FinishReason reason = FinishReason::kNone;
  std::string error;
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // served from the prefix cache
  int64_t completion_tokens = 0;
  bool timed_out = false;  // kCancelled because of ServingOptions::request_timeout_s
  // Seconds from reaching the engine to the first step that ran it; -1 when it never ran.
  double queue_seconds = -1;
};

struct GenerationRequest {
  std::vector<int32_t> prompt;
  int32_t max_tokens = 16;
  int32_t priority = 0;
  SamplingParams sampling;
  bool ignore_eos = false;
  // -1: none; 0..kernels::kMaxLogprobs: the chosen token's logprob and top k alternatives
  int32_t logprobs = -1;
  // Constrained decoding (response_format, grammar): every generated token keeps the text a
  // prefix of a sentence of this grammar; the sequence stops once the sentence is complete and
  // nothing may follow. Null: unconstrained.
  std::shared_ptr<const grammar::Grammar> grammar;
  // Engine thread. Return true to stop the sequence here (a stop string matched).
  std::function<bool(const TokenEvent&)> on_token;
  // Engine thread; called exactly once per accepted request, last.
  std::function<void(const FinishEvent&)> on_finish;
};

struct EngineStats {
  int64_t running = 0;
  int64_t waiting = 0;
  double kv_usage = 0;  // fraction of KV blocks in use
  int64_t kv_blocks = 0;
  int64_t prefix_query_tokens = 0;
  int64_t prefix_hit_tokens = 0;
  int64_t preemptions = 0;
  int64_t steps = 0;
  int64_t prompt_tokens = 0;  // computed prompt tokens (prefix hits excluded)
  int64_t generated_tokens = 0;
};

enum class SubmitError { kNone, kQueueFull, kInvalid, kStopped };

struct SubmitResult {
  int64_t id = -1;
  SubmitError error = SubmitError::kNone;
  std::string message;
};

class ServingEngine {
 public:
  // `model` and `tokenizer` must outlive the engine.
  static Expected<std::unique_ptr<ServingEngine>> create(LlamaModel& model,
                                                         const Tokenizer& tokenizer,
                                                         const ServingOptions& options);
  ~ServingEngine();

  void start();
  // Stops the loop; requests still queued or running finish with kCancelled.
  void stop();

  SubmitResult submit(GenerationRequest request);
  void cancel(int64_t id);
  EngineStats stats() const;
  const ServingOptions& options() const { return options_; }
  int64_t max_context() const { return options_.max_context; }

 private:
  ServingEngine(LlamaModel& model, const Tokenizer& tokenizer, const ServingOptions& options,
                KvCache cache, const SchedulerOptions& sched, const BlockPoolOptions& pool);
  void loop();
  bool drain_inbox();  // false when stopping
  void run_step();
  void finish(int64_t id, const FinishEvent& event);
  void publish_stats();

  struct Live {  // engine-thread state of an accepted request
    GenerationRequest request;
    std::unique_ptr<Sampler> sampler;
    std::unique_ptr<grammar::TokenConstraint> constraint;  // with request.grammar
    int64_t generated_tokens = 0;
    int64_t cached_tokens = 0;  // prompt tokens served from the prefix cache
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::chrono::steady_clock::time_point arrived;
    double queue_seconds = -1;  // set at the first step that schedules it
    bool timed_out = false;
  };
  void expire_deadlines();

  LlamaModel& model_;
  const Tokenizer& tokenizer_;
  ServingOptions options_;
  KvCache cache_;
  ThreadPool pool_;
  Scheduler scheduler_;
  std::unordered_map<int64_t, Live> live_;  // engine thread only
  // Token bytes for constrained decoding, built at the first request with a grammar.
  std::shared_ptr<const grammar::TokenBytes> token_bytes_;  // engine thread only

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<std::pair<int64_t, GenerationRequest>> inbox_;  // guarded by mu_
  std::vector<int64_t> cancels_;                              // guarded by mu_
  bool stopping_ = false;                                     // guarded by mu_
  int64_t next_id_ = 1;                                       // guarded by mu_
  int64_t queued_ = 0;                                // accepted but not finished; guarded by mu_
  EngineStats stats_;                                 // guarded by mu_
  int64_t prompt_tokens_ = 0, generated_tokens_ = 0;  // engine thread

  std::thread thread_;
};

}  // namespace tenbin
