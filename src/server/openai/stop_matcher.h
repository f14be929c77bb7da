// Streaming stop-string detection over detokenized text, per choice. feed() returns the text
// that is safe to emit now: it holds back the longest tail that could still become a stop
// string, and on a match emits only the text before it (the stop string and anything after
// are dropped, as OpenAI does). Feed whole UTF-8 characters. Not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tenbin::server::openai {

class StopMatcher {
 public:
  struct Result {
    std::string text;      // emit this now
    bool stopped = false;  // a stop string matched; generation should end
    int stop_index = -1;   // which stop string, when stopped
  };

  // Empty strings are ignored. Without stop strings feed() passes text straight through.
  explicit StopMatcher(std::vector<std::string> stops);

  // After a match, further input is ignored (empty results with stopped true).
  Result feed(std::string_view piece);
  // Generation ended without a match: the held-back text, which is now final.
  std::string flush();

  bool stopped() const { return stopped_; }
  size_t held_bytes() const { return pending_.size(); }

 private:
  // Length of the longest suffix of pending_ that is a proper prefix of some stop string.
  size_t partial_match_length() const;

  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
  int stop_index_ = -1;
};

}  // namespace tenbin::server::openai
