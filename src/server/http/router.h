// Maps (method, exact path) to handlers and answers what no route takes: 404 for an unknown
// path, 405 (with Allow) for a known path with another method, both as OpenAI error JSON. An
// optional guard (auth, admission) runs before routing. Build it before the server starts;
// after that it is only read, so dispatch() is safe from all I/O threads at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "server/http/request.h"
#include "server/http/responder.h"
#include "server/http/response.h"

namespace tenbin::server::http {

// Runs on an I/O thread: must not block. It answers through the responder, now or later.
using Handler = std::function<void(HttpRequest request, std::shared_ptr<Responder> responder)>;
// Convenience for cheap synchronous routes (/health, /metrics).
using SimpleHandler = std::function<HttpResponse(const HttpRequest& request)>;
// Returns a response to send instead of routing (e.g. 401), or nullopt to continue.
using Guard = std::function<std::optional<HttpResponse>(const HttpRequest& request)>;

class Router {
 public:
  void add(std::string method, std::string path, Handler handler);
  void add_simple(std::string method, std::string path, SimpleHandler handler);
  void get(std::string path, SimpleHandler handler) {
    add_simple("GET", std::move(path), std::move(handler));
  }
  void set_guard(Guard guard) { guard_ = std::move(guard); }

  // Guard, then the route's handler, else a 404/405 reply. A handler that throws gets a 500.
  void dispatch(HttpRequest request, const std::shared_ptr<Responder>& responder) const;

 private:
  std::map<std::string, std::map<std::string, Handler>> routes_;  // path -> method -> handler
  Guard guard_;
};

}  // namespace tenbin::server::http
