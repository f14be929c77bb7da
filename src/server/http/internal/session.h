// Internal: one TCP connection. Reads requests with Beast's parser (limits, timeouts),
// dispatches them through the router, writes replies or SSE chunks from a queue, and watches
// the socket while a handler works so a disconnect cancels the request. All state lives on
// the connection's strand; the Connection methods post onto it from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http/internal/connection.h"
#include "server/http/internal/responder_impl.h"
#include "server/http/internal/server_state.h"

namespace tenbin::server::http::internal {

class Session final : public Connection, public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state,
          std::weak_ptr<boost::asio::io_context> io_context);
  ~Session() override;

  void start();  // registers with the server state and starts reading

  void reply(uint64_t request_id, HttpResponse response) override;
  void stream_begin(uint64_t request_id, HeaderList headers) override;
  void stream_send(uint64_t request_id, std::string bytes) override;
  void stream_end(uint64_t request_id) override;
  void begin_shutdown() override;
  void force_close() override;

 private:
  enum class Phase {
    kReadingHeader,
    kReadingBody,
    kHandling,
    kStreaming,
    kFinishing,
    kLinger,
    kClosed
  };
  using error_code = boost::system::error_code;

  void do_read();
  void on_header(error_code ec);
  void read_body();
  void on_body(error_code ec);
  void dispatch();
  void reject(HttpResponse response);  // reply, then close without reading further
  void start_watch();
  void on_watch(error_code ec, size_t bytes);
  void enqueue(std::string bytes, bool ends_response);
  void do_write();
  void on_write(error_code ec);
  void response_done();
  void client_gone();
  void linger_close();
  void close();
  bool current(uint64_t request_id, Phase phase) const {
    return request_id == request_id_ && phase_ == phase;
  }

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<ServerState> state_;
  std::weak_ptr<boost::asio::io_context> io_context_;
  std::string remote_;
  uint64_t registry_id_ = 0;

  Phase phase_ = Phase::kReadingHeader;
  uint64_t request_id_ = 0;
  bool keep_alive_ = false;
  bool linger_ = false;
  std::shared_ptr<CancelState> cancel_;

  std::deque<std::pair<std::string, bool>> queue_;  // bytes, ends the response
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool watching_ = false;
  bool resume_read_ = false;
  char drain_[4096];
};

}  // namespace tenbin::server::http::internal
