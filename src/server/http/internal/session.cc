// Connection state machine:
//   reading header -> (100 Continue) -> reading body -> handling -> [streaming] -> finishing
//   -> reading header (keep-alive) | close.
// Errors before dispatch (413, 431, 400) are written with `Connection: close` and followed by
// a lingering close, so the client reads the reply instead of a reset.
#include "server/http/internal/session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "server/openai/errors.h"

namespace tenbin::server::http::internal {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {
constexpr size_t kMaxQueuedBytes = 16u << 20;  // a client this far behind is treated as gone
constexpr size_t kMaxPipelinedBytes = 64u << 10;
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}
}  // namespace

Session::Session(net::ip::tcp::socket socket, std::shared_ptr<ServerState> state,
                 std::weak_ptr<net::io_context> io_context)
    : stream_(std::move(socket)), state_(std::move(state)), io_context_(std::move(io_context)) {
  error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

Session::~Session() {
  if (phase_ != Phase::kClosed && registry_id_ != 0) state_->remove(registry_id_);
}

void Session::start() {
  registry_id_ = state_->add(weak_from_this());
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void Session::do_read() {
  phase_ = Phase::kReadingHeader;
  parser_.emplace();
  parser_->body_limit(state_->options.max_body_bytes);
  parser_->header_limit(static_cast<uint32_t>(state_->options.max_header_bytes));
  stream_.expires_after(state_->options.header_timeout);
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](error_code ec, size_t) { self->on_header(ec); });
}

void Session::on_header(error_code ec) {
  if (phase_ == Phase::kClosed) return;
  if (ec == bhttp::error::body_limit) {
    return reject(openai::payload_too_large(state_->options.max_body_bytes));
  }
  if (ec == bhttp::error::header_limit) {
    return reject(
        openai::error_response(431, "Request headers are too large", "invalid_request_error"));
  }
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::eof ||
      ec == net::error::connection_reset) {
    return close();
  }
  if (ec) return reject(openai::bad_request("Malformed HTTP request: " + ec.message()));
  phase_ = Phase::kReadingBody;
  if (parser_->is_done()) return dispatch();
  auto expect = parser_->get()[bhttp::field::expect];
  if (beast::iequals(expect, "100-continue")) {
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (self->phase_ == Phase::kClosed) return;
                       if (ec) return self->close();
                       self->read_body();
                     });
    return;
  }
  read_body();
}

void Session::read_body() {
  stream_.expires_after(state_->options.body_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](error_code ec, size_t) { self->on_body(ec); });
}

void Session::on_body(error_code ec) {
  if (phase_ == Phase::kClosed) return;
  if (ec == bhttp::error::body_limit) {
    return reject(openai::payload_too_large(state_->options.max_body_bytes));
  }
  if (ec == beast::error::timeout) return close();  // the stream closed the socket already
  if (ec) return close();
  dispatch();
}

void Session::dispatch() {
  stream_.expires_never();
  auto message = parser_->release();
  parser_.reset();
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  if (q != std::string::npos) request.query = request.target.substr(q + 1);
  for (const auto& field : message) {
    request.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  request.remote = remote_;
  keep_alive_ = message.keep_alive() && !state_->stopping.load();

  phase_ = Phase::kHandling;
  ++request_id_;
  cancel_ = std::make_shared<CancelState>();
  auto responder =
      std::make_shared<ResponderImpl>(io_context_.lock(), shared_from_this(), request_id_, cancel_);
  start_watch();
  state_->router.dispatch(std::move(request), responder);
}

void Session::reject(HttpResponse response) {
  stream_.expires_never();
  keep_alive_ = false;
  linger_ = true;
  phase_ = Phase::kFinishing;
  enqueue(serialize_response(response, false), true);
}

void Session::start_watch() {
  if (watching_) return;
  watching_ = true;
  stream_.async_read_some(
      buffer_.prepare(4096),
      [self = shared_from_this()](error_code ec, size_t n) { self->on_watch(ec, n); });
}

void Session::on_watch(error_code ec, size_t bytes) {
  watching_ = false;
  if (phase_ == Phase::kClosed || phase_ == Phase::kLinger) return;
  if (!ec) buffer_.commit(bytes);
  bool in_request =
      phase_ == Phase::kHandling || phase_ == Phase::kStreaming || phase_ == Phase::kFinishing;
  if (in_request) {
    if (ec && ec != net::error::operation_aborted) return client_gone();
    if (!ec && buffer_.size() < kMaxPipelinedBytes) start_watch();
    return;
  }
  // The response completed while the watch was pending: hand the socket back to the reader.
  if (ec && ec != net::error::operation_aborted) return close();
  if (resume_read_) {
    resume_read_ = false;
    do_read();
  }
}

void Session::reply(uint64_t request_id, HttpResponse response) {
  net::post(stream_.get_executor(),
            [self = shared_from_this(), request_id, response = std::move(response)]() mutable {
              if (!self->current(request_id, Phase::kHandling)) return;
              self->phase_ = Phase::kFinishing;
              self->enqueue(serialize_response(response, self->keep_alive_), true);
            });
}

void Session::stream_begin(uint64_t request_id, HeaderList headers) {
  net::post(stream_.get_executor(),
            [self = shared_from_this(), request_id, headers = std::move(headers)] {
              if (!self->current(request_id, Phase::kHandling)) return;
              self->phase_ = Phase::kStreaming;
              self->enqueue(serialize_sse_head(headers, self->keep_alive_), false);
            });
}

void Session::stream_send(uint64_t request_id, std::string bytes) {
  net::post(stream_.get_executor(),
            [self = shared_from_this(), request_id, bytes = std::move(bytes)] {
              if (!self->current(request_id, Phase::kStreaming)) return;
              self->enqueue(encode_chunk(bytes), false);
            });
}

void Session::stream_end(uint64_t request_id) {
  net::post(stream_.get_executor(), [self = shared_from_this(), request_id] {
    if (!self->current(request_id, Phase::kStreaming)) return;
    self->phase_ = Phase::kFinishing;
    self->enqueue(std::string(kLastChunk), true);
  });
}

void Session::begin_shutdown() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->keep_alive_ = false;
    if (self->phase_ == Phase::kReadingHeader) self->close();
  });
}

void Session::force_close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->client_gone(); });
}

void Session::enqueue(std::string bytes, bool ends_response) {
  if (bytes.empty() && !ends_response) return;
  queued_bytes_ += bytes.size();
  queue_.emplace_back(std::move(bytes), ends_response);
  if (queued_bytes_ > kMaxQueuedBytes) return client_gone();
  if (!writing_) do_write();
}

void Session::do_write() {
  writing_ = true;
  const std::string& front = queue_.front().first;
  net::async_write(stream_, net::buffer(front.data(), front.size()),
                   [self = shared_from_this()](error_code ec, size_t) { self->on_write(ec); });
}

void Session::on_write(error_code ec) {
  writing_ = false;
  if (phase_ == Phase::kClosed) return;
  if (ec) return client_gone();
  bool ends_response = queue_.front().second;
  queued_bytes_ -= queue_.front().first.size();
  queue_.pop_front();
  if (ends_response) return response_done();
  if (!queue_.empty()) do_write();
}

void Session::response_done() {
  if (cancel_) {
    cancel_->disarm();
    cancel_.reset();
  }
  if (linger_) return linger_close();
  if (!keep_alive_ || state_->stopping.load()) return close();
  phase_ = Phase::kReadingHeader;
  if (watching_) {
    resume_read_ = true;
    error_code ignored;
    stream_.socket().cancel(ignored);  // the watch completes, then do_read() runs
  } else {
    do_read();
  }
}

void Session::client_gone() {
  if (cancel_) {
    auto cancel = std::move(cancel_);
    cancel->cancel();
  }
  close();
}

void Session::linger_close() {
  if (phase_ != Phase::kLinger) {  // first call: one deadline for the whole drain
    phase_ = Phase::kLinger;
    error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
  }
  stream_.async_read_some(net::buffer(drain_), [self = shared_from_this()](error_code ec, size_t) {
    if (self->phase_ != Phase::kLinger) return;
    if (ec) return self->close();
    self->linger_close();
  });
}

void Session::close() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;  // the queue stays: a pending write may still reference it
  if (cancel_) {
    cancel_->disarm();
    cancel_.reset();
  }
  error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
  state_->remove(registry_id_);
}

}  // namespace tenbin::server::http::internal
