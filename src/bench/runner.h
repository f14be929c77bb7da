// Runs one load level of a benchmark against an OpenAI-compatible server: optional warm-up
// requests, then the measured requests, paced by the level (closed loop: N users each sending
// the next request when the last ends; open loop: gamma/Poisson arrivals, optionally capped
// at N in flight). Every request streams, so time to first token and inter-token gaps are
// measured here, on the client. All I/O runs on one thread (one io_context); failures and
// timeouts become records, never exceptions. Ctrl-C (when asked to watch for it) stops the
// run, cancels what is in flight and returns what finished.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "bench/bench_config.h"
#include "bench/dataset.h"
#include "bench/request_record.h"
#include "util/http_client/http_client.h"
#include "util/status.h"

namespace tenbin::bench {

struct RunProgress {
  int64_t total = 0;     // requests the level will send
  int64_t finished = 0;  // successful + failed
  int64_t failed = 0;
  int64_t in_flight = 0;
  int64_t output_tokens = 0;  // of finished successful requests
  double elapsed_s = 0;
  bool warming_up = false;
};

struct RunHooks {
  std::function<void(const RunProgress&)> on_progress;  // about once a second, and at the end
  double progress_interval_s = 1.0;
  bool stop_on_sigint = false;  // SIGINT ends the level early (the caller's partial summary)
};

struct RunResult {
  std::vector<RequestRecord> records;  // finished requests, in start order
  double duration_s = 0;               // from the first request's start to the last's end
  bool interrupted = false;            // stopped by SIGINT
  http_client::HttpClientStats client;
};

// Request i sends prompts[i]; warm-up request k sends prompts[num_requests + k] (indices wrap
// around when `prompts` is shorter), so warm-up prompts do not pre-fill a prefix cache.
Expected<RunResult> run_level(const BenchConfig& config, const LoadLevel& level,
                              const std::vector<BenchPrompt>& prompts, const RunHooks& hooks);

}  // namespace tenbin::bench
