// Route lookup and the fallback replies.
#include "server/http/router.h"

#include <exception>

#include "server/openai/errors.h"

namespace tenbin::server::http {

void Router::add(std::string method, std::string path, Handler handler) {
  routes_[std::move(path)][std::move(method)] = std::move(handler);
}

void Router::add_simple(std::string method, std::string path, SimpleHandler handler) {
  add(std::move(method), std::move(path),
      [handler = std::move(handler)](HttpRequest request, std::shared_ptr<Responder> responder) {
        responder->reply(handler(request));
      });
}

void Router::dispatch(HttpRequest request, const std::shared_ptr<Responder>& responder) const {
  try {
    if (guard_) {
      if (std::optional<HttpResponse> refused = guard_(request)) {
        responder->reply(std::move(*refused));
        return;
      }
    }
    auto path_it = routes_.find(request.path);
    if (path_it == routes_.end()) {
      responder->reply(openai::not_found(request.method, request.path));
      return;
    }
    auto method_it = path_it->second.find(request.method);
    if (method_it == path_it->second.end()) {
      std::string allow;
      for (const auto& [method, handler] : path_it->second) {
        if (!allow.empty()) allow += ", ";
        allow += method;
      }
      responder->reply(openai::method_not_allowed(request.method, request.path, allow));
      return;
    }
    method_it->second(std::move(request), responder);
  } catch (const std::exception& e) {
    responder->reply(openai::internal_error(std::string("handler failed: ") + e.what()));
  } catch (...) {
    responder->reply(openai::internal_error("handler failed"));
  }
}

}  // namespace tenbin::server::http
