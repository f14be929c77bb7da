// Incremental parser of a Server-Sent Events body (the text/event-stream format): feed it
// body bytes as they arrive, split anywhere, and it hands back each event's data once the
// event is complete. Comments, `event:`/`id:`/`retry:` fields are skipped. One per stream.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tenbin::http_client {

class SseParser {
 public:
  using EventFn = std::function<void(std::string_view data)>;

  // Parses `bytes`; calls `on_event` with the data of every event completed by them (the
  // `data:` lines of one event joined by '\n'). Lines end in "\n", "\r\n" or "\r".
  void feed(std::string_view bytes, const EventFn& on_event);

  // Bytes held for an unfinished line or event (a stream cut mid-event leaves some).
  bool has_partial_event() const { return !line_.empty() || has_data_; }

 private:
  void on_line(std::string_view line, const EventFn& on_event);

  std::string line_;  // the unfinished line
  std::string data_;  // data of the event being read
  bool has_data_ = false;
  bool last_was_cr_ = false;  // a "\r" ended the last line: skip a "\n" right after it
};

}  // namespace tenbin::http_client
