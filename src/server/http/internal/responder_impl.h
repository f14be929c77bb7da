// Internal: the Responder handed to handlers, and the cancellation flag it shares with its
// connection. The responder keeps the io_context alive, so a reply posted late (after
// shutdown) is dropped safely instead of touching a destroyed context. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/http/internal/connection.h"
#include "server/http/responder.h"

namespace tenbin::server::http::internal {

// Set once by the connection (client gone, forced close); callbacks run once.
class CancelState {
 public:
  void cancel();  // runs the callbacks unless disarmed
  void disarm();  // the response completed: callbacks will never run
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  void on_cancel(std::function<void()> callback);

 private:
  std::mutex mu_;
  std::atomic<bool> cancelled_{false};
  bool disarmed_ = false;
  std::vector<std::function<void()>> callbacks_;
};

class ResponderImpl final : public Responder {
 public:
  ResponderImpl(std::shared_ptr<void> keep_alive, std::shared_ptr<Connection> connection,
                uint64_t request_id, std::shared_ptr<CancelState> cancel);
  ~ResponderImpl() override;  // a handler that never replied gets a 500; open streams end

  void reply(HttpResponse response) override;
  void start_sse(HeaderList extra_headers) override;
  bool send_event(std::string_view payload) override;
  bool send_raw(std::string_view bytes) override;
  void finish_sse(bool send_done) override;
  bool cancelled() const override { return cancel_->cancelled(); }
  void on_cancel(std::function<void()> callback) override;

 private:
  enum Mode : int { kNone, kReplied, kStreaming, kFinished };
  bool transition(Mode from, Mode to);

  std::shared_ptr<void> keep_alive_;  // declared first: destroyed last
  std::shared_ptr<Connection> connection_;
  uint64_t request_id_;
  std::shared_ptr<CancelState> cancel_;
  std::atomic<int> mode_{kNone};
};

}  // namespace tenbin::server::http::internal
