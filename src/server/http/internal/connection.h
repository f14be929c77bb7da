// Internal: what a Responder and the server's shutdown need from a live connection, without
// Beast types. Implemented by Session; every method is thread-safe (it posts onto the
// connection's strand) and ignores calls for a request id that is no longer current.
#pragma once

#include <cstdint>
#include <string>

#include "server/http/response.h"

namespace tenbin::server::http::internal {

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void reply(uint64_t request_id, HttpResponse response) = 0;
  virtual void stream_begin(uint64_t request_id, HeaderList headers) = 0;
  virtual void stream_send(uint64_t request_id, std::string bytes) = 0;  // raw SSE bytes
  virtual void stream_end(uint64_t request_id) = 0;
  // Server stopping: close when idle, no keep-alive after the current request.
  virtual void begin_shutdown() = 0;
  // Grace period over: cancel the current request and close.
  virtual void force_close() = 0;
};

}  // namespace tenbin::server::http::internal
