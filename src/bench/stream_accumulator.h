// Reads the SSE events of one streamed OpenAI completion or chat completion and keeps what
// the metrics need: when each text-carrying chunk arrived, the usage the server reported, and
// whether the stream carried an error or ended properly. A chunk without text (a chat
// "role" chunk, an empty finish chunk, the usage chunk) is not a token arrival.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tenbin::bench {

class StreamAccumulator {
 public:
  // `data` is one event's data; `t_s` the seconds since the request started.
  void on_event(std::string_view data, double t_s);

  const std::vector<double>& token_times_s() const { return token_times_s_; }
  int64_t usage_prompt_tokens() const { return usage_prompt_tokens_; }          // -1: none
  int64_t usage_completion_tokens() const { return usage_completion_tokens_; }  // -1: none
  bool saw_done() const { return saw_done_; }
  const std::string& error() const { return error_; }  // an error object or undecodable data
  const std::string& text() const { return text_; }

 private:
  std::vector<double> token_times_s_;
  int64_t usage_prompt_tokens_ = -1;
  int64_t usage_completion_tokens_ = -1;
  bool saw_done_ = false;
  std::string error_;
  std::string text_;
};

}  // namespace tenbin::bench
