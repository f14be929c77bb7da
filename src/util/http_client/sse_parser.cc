#include "util/http_client/sse_parser.h"

namespace tenbin::http_client {

void SseParser::feed(std::string_view bytes, const EventFn& on_event) {
  size_t start = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c != '\n' && c != '\r') {
      last_was_cr_ = false;
      continue;
    }
    if (c == '\n' && last_was_cr_ && i == start && line_.empty()) {
      // The "\n" of a "\r\n" split from its "\r" (or right after it): not a new line.
      last_was_cr_ = false;
      start = i + 1;
      continue;
    }
    line_.append(bytes.data() + start, i - start);
    on_line(line_, on_event);
    line_.clear();
    last_was_cr_ = c == '\r';
    start = i + 1;
    if (c == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') {
      ++i;
      start = i + 1;
      last_was_cr_ = false;
    }
  }
  line_.append(bytes.data() + start, bytes.size() - start);
}

void SseParser::on_line(std::string_view line, const EventFn& on_event) {
  if (line.empty()) {
    if (has_data_) on_event(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alive ping)
  const size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (value.starts_with(" ")) value.remove_prefix(1);
  if (field != "data") return;
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

}  // namespace tenbin::http_client
