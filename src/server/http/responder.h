// The reply side of one HTTP request, handed to its handler. A handler answers once, either
// with reply() (a full response) or as a Server-Sent Events stream (start_sse / send_event /
// finish_sse). Every method is thread-safe and may be called from any thread (for example
// the engine thread); calls are queued onto the connection's strand in call order.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "server/http/response.h"

namespace tenbin::server::http {

class Responder {
 public:
  virtual ~Responder() = default;

  // A complete response. Ignored after the first reply() or start_sse().
  virtual void reply(HttpResponse response) = 0;

  // Starts a 200 `text/event-stream` response with chunked encoding. Ignored after reply().
  virtual void start_sse(HeaderList extra_headers = {}) = 0;
  // Sends `data: <payload>\n\n` (starting the stream if needed). Returns false once the client
  // has gone or the stream was finished: the producer should stop.
  virtual bool send_event(std::string_view payload) = 0;
  // Sends raw SSE bytes, e.g. a keep-alive comment ": ping\n\n".
  virtual bool send_raw(std::string_view bytes) = 0;
  // Ends the stream, after `data: [DONE]\n\n` when `send_done`.
  virtual void finish_sse(bool send_done = true) = 0;

  // True once the client disconnected (or the server force-closed the connection) before the
  // response was complete.
  virtual bool cancelled() const = 0;
  // `callback` runs once on cancellation, on an I/O thread (keep it short, never block); it
  // runs at once on the calling thread when already cancelled. Never runs after the response
  // completed normally.
  virtual void on_cancel(std::function<void()> callback) = 0;
};

}  // namespace tenbin::server::http
