// What one `tenbin bench` invocation asks for: the server, the request shape, the workload and
// the SLOs and price used in the summary. Plain values filled by the CLI; the runner, the
// dataset loader and the reports read them. A load level (one concurrency or one rate) is
// separate because a sweep runs several levels with one configuration.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace tenbin::bench {

enum class Endpoint { kCompletions, kChat };

inline const char* endpoint_name(Endpoint e) {
  return e == Endpoint::kChat ? "chat" : "completions";
}
inline const char* endpoint_path(Endpoint e) {
  return e == Endpoint::kChat ? "/v1/chat/completions" : "/v1/completions";
}

// Service-level objectives in milliseconds; a request is "good" when it meets every one given.
struct Slo {
  std::optional<double> ttft_ms;
  std::optional<double> tpot_ms;
  std::optional<double> e2el_ms;
  bool any() const { return ttft_ms || tpot_ms || e2el_ms; }
};

struct DatasetOptions {
  std::string source = "random";  // "random", a prompts .jsonl file or a ShareGPT .json file
  int64_t input_len = 512;        // random: prompt tokens (nominal)
  int64_t output_len = 128;       // max_tokens of each request (files: when given explicitly)
  bool output_len_given = false;  // files keep their own lengths unless --output-len was given
  double range_ratio = 0.0;       // random: lengths uniform in [len*(1-r), len*(1+r)]
};

// One point of the load: closed loop (concurrency users, rate infinite), open loop (rate with
// an optional concurrency cap), or everything at once (neither).
struct LoadLevel {
  int concurrency = 0;                                    // 0 = no cap
  double rate = std::numeric_limits<double>::infinity();  // requests/s; inf = no pacing
};

// The sampling parameters every request carries (greedy unless told; vLLM's bench serve
// options). Unset ones are left out of the body, so the server's defaults apply.
struct BenchSampling {
  double temperature = 0.0;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> min_p;
  // Logprobs per token (completions' logprobs, chat's top_logprobs with logprobs true).
  std::optional<int64_t> logprobs;
};

struct BenchConfig {
  std::string url = "http://127.0.0.1:8080";
  std::string model;
  Endpoint endpoint = Endpoint::kCompletions;
  std::string api_key;
  DatasetOptions dataset;
  double burstiness = 1.0;  // gamma shape of the inter-arrival times; 1 = Poisson
  int64_t num_requests = 500;
  double duration_s = 0;  // > 0: no new requests after this many seconds
  uint64_t seed = 1;
  int64_t warmup = 0;  // requests sent (and not counted) before each level
  double request_timeout_s = 600;
  bool ignore_eos = true;
  BenchSampling sampling;
  Slo slo;
  std::optional<double> price_per_hour;  // USD per hour of the serving hardware
};

}  // namespace tenbin::bench
