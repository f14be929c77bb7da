// What the user wants to serve: the workload shape (chat/completion for decoders, embed for
// encoders, detect for vision models), the target concurrency, and the latency objectives
// (SLOs) a configuration must meet. Parsed from `--workload`, `--slo ttft_p99=500ms,tpot=50ms`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/status.h"

namespace tenbin::planner {

struct Workload {
  std::string kind = "chat";  // chat, completion, embed, detect
  int64_t concurrency = 1;    // requests in flight (closed loop: each user waits for its answer)
  int64_t input_len = 512;    // prompt tokens (encoders: tokens per sequence)
  int64_t output_len = 200;   // generated tokens (decoders only)
  int64_t batch = 1;          // encoders and vision: requests per forward pass at most
  int64_t image_size = 640;   // vision: square input in pixels
};

struct Slo {
  std::optional<double> ttft_p99_ms;  // time to first token, 99th percentile
  std::optional<double> tpot_ms;      // time per output token (mean inter-token latency)
  std::optional<double> p99_ms;       // encoders and vision: request latency, 99th percentile
  std::optional<double> e2e_p99_ms;   // decoders: whole request, 99th percentile

  bool empty() const { return !ttft_p99_ms && !tpot_ms && !p99_ms && !e2e_p99_ms; }
};

// "ttft_p99=500ms,tpot=50ms" (units ms or s; "ttft" means ttft_p99, "p99"/"latency" the
// request latency, "e2e" the end-to-end p99).
Expected<Slo> parse_slo(const std::string& text);
std::string describe_slo(const Slo& slo);

// Checks the workload's fields and that its kind suits the model kind ("decoder", ...).
Status validate_workload(const Workload& w, std::string_view model_kind);

}  // namespace tenbin::planner
