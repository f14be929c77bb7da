// Responder state machine: none -> replied, or none -> streaming -> finished.
#include "server/http/internal/responder_impl.h"

#include "server/openai/errors.h"

namespace tenbin::server::http::internal {

void CancelState::cancel() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (disarmed_ || cancelled_.load()) return;
    cancelled_.store(true, std::memory_order_release);
    callbacks.swap(callbacks_);
  }
  for (auto& cb : callbacks) cb();
}

void CancelState::disarm() {
  std::lock_guard lock(mu_);
  disarmed_ = true;
  callbacks_.clear();
}

void CancelState::on_cancel(std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    if (disarmed_) return;
    if (!cancelled_.load()) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

ResponderImpl::ResponderImpl(std::shared_ptr<void> keep_alive,
                             std::shared_ptr<Connection> connection, uint64_t request_id,
                             std::shared_ptr<CancelState> cancel)
    : keep_alive_(std::move(keep_alive)),
      connection_(std::move(connection)),
      request_id_(request_id),
      cancel_(std::move(cancel)) {}

ResponderImpl::~ResponderImpl() {
  if (transition(kNone, kReplied)) {
    connection_->reply(request_id_, openai::internal_error("the request handler did not reply"));
  } else if (transition(kStreaming, kFinished)) {
    connection_->stream_end(request_id_);
  }
}

bool ResponderImpl::transition(Mode from, Mode to) {
  int expected = from;
  return mode_.compare_exchange_strong(expected, to, std::memory_order_acq_rel);
}

void ResponderImpl::reply(HttpResponse response) {
  if (transition(kNone, kReplied)) connection_->reply(request_id_, std::move(response));
}

void ResponderImpl::start_sse(HeaderList extra_headers) {
  if (transition(kNone, kStreaming))
    connection_->stream_begin(request_id_, std::move(extra_headers));
}

bool ResponderImpl::send_event(std::string_view payload) {
  return send_raw(sse_event(payload));
}

bool ResponderImpl::send_raw(std::string_view bytes) {
  start_sse({});
  if (mode_.load(std::memory_order_acquire) != kStreaming || cancel_->cancelled()) return false;
  connection_->stream_send(request_id_, std::string(bytes));
  return true;
}

void ResponderImpl::finish_sse(bool send_done) {
  start_sse({});
  if (!transition(kStreaming, kFinished)) return;
  if (send_done) connection_->stream_send(request_id_, "data: [DONE]\n\n");
  connection_->stream_end(request_id_);
}

void ResponderImpl::on_cancel(std::function<void()> callback) {
  cancel_->on_cancel(std::move(callback));
}

}  // namespace tenbin::server::http::internal
