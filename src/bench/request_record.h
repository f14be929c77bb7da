// What the benchmark keeps about one request: when it started, its time to first token, the
// gaps between the chunks that carried text, its end-to-end latency, its token counts and,
// for a failure, the error class. Times are seconds; start_s counts from the run's start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tenbin::bench {

struct RequestRecord {
  int64_t index = 0;
  double start_s = 0;
  double ttft_s = 0;                    // first text-carrying chunk; 0 when none arrived
  double e2el_s = 0;                    // until the response was complete
  std::vector<double> itl_s;            // gaps between consecutive text-carrying chunks
  int64_t prompt_tokens = 0;            // usage.prompt_tokens, else the dataset's estimate
  int64_t output_tokens = 0;            // usage.completion_tokens, else text-carrying chunks
  int64_t requested_output_tokens = 0;  // max_tokens sent
  bool tokens_from_usage = false;
  bool success = false;
  // Failures: "http_<status>", "timeout", "connection", "connect", "protocol",
  // "stream_error" (an error object inside the stream) or "empty_response".
  std::string error_class;
  std::string error;  // message for people
};

}  // namespace tenbin::bench
