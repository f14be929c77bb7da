// Internal: state shared by the listener and all sessions: options, the router, the stopping
// flag and the registry of open connections that shutdown() drains. The registry is guarded
// by a mutex; options and router are read-only once the server runs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "server/http/internal/connection.h"
#include "server/http/router.h"
#include "server/http/server.h"

namespace tenbin::server::http::internal {

class ServerState {
 public:
  ServerState(HttpServerOptions options, Router router)
      : options(std::move(options)), router(std::move(router)) {}

  const HttpServerOptions options;
  const Router router;
  std::atomic<bool> stopping{false};

  uint64_t add(std::weak_ptr<Connection> connection) {
    std::lock_guard lock(mu_);
    uint64_t id = next_id_++;
    open_.emplace(id, std::move(connection));
    return id;
  }
  void remove(uint64_t id) {
    std::lock_guard lock(mu_);
    open_.erase(id);
    if (open_.empty()) cv_.notify_all();
  }
  std::vector<std::shared_ptr<Connection>> snapshot() {
    std::lock_guard lock(mu_);
    std::vector<std::shared_ptr<Connection>> out;
    for (auto& [id, weak] : open_) {
      if (auto c = weak.lock()) out.push_back(std::move(c));
    }
    return out;
  }
  // True when no connection is open by `deadline`.
  bool wait_until_empty(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return open_.empty(); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> open_;
};

}  // namespace tenbin::server::http::internal
