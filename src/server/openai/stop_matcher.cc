// Every call searches only the held-back tail plus the new piece: anything emitted earlier
// was checked not to begin a stop string, so a match can only start inside pending_.
#include "server/openai/stop_matcher.h"

#include <algorithm>

namespace tenbin::server::openai {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

size_t StopMatcher::partial_match_length() const {
  size_t best = 0;
  for (const std::string& stop : stops_) {
    const size_t max_len = std::min(stop.size() - 1, pending_.size());
    for (size_t len = max_len; len > best; --len) {
      if (std::string_view(pending_).substr(pending_.size() - len) ==
          std::string_view(stop).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

StopMatcher::Result StopMatcher::feed(std::string_view piece) {
  Result result;
  if (stopped_) {
    result.stopped = true;
    result.stop_index = stop_index_;
    return result;
  }
  pending_.append(piece);
  // The earliest match wins; at the same position the first listed stop string.
  size_t first = std::string::npos;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const size_t at = pending_.find(stops_[i]);
    if (at < first) {
      first = at;
      stop_index_ = static_cast<int>(i);
    }
  }
  if (first != std::string::npos) {
    stopped_ = true;
    result.text = pending_.substr(0, first);
    result.stopped = true;
    result.stop_index = stop_index_;
    pending_.clear();
    return result;
  }
  const size_t hold = partial_match_length();
  result.text = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return result;
}

std::string StopMatcher::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace tenbin::server::openai
