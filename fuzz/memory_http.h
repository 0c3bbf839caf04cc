#pragma once
// cpp-httplib's server-side request reading, driven from memory: no socket, no thread. A request's
// bytes go through httplib::Server::process_request (protected, reached through a subclass): the
// request line, query string, headers, body (Content-Length, chunked, compressed) and multipart
// parsing, under a body limit; then the route's handler. Used by fuzz/api_request_fuzzer.cpp and
// its regression tests (tests/fuzz/api_request_regression_test.cpp).
#include <httplib.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "request_parsing.h"

namespace mystyle::fuzz {

/// One connection's bytes, read from memory; what the server writes back is counted and dropped.
class MemoryStream final : public httplib::Stream {
 public:
  explicit MemoryStream(std::string_view input) : input_(input) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const std::size_t n = std::min(size, input_.size() - position_);
    std::memcpy(ptr, input_.data() + position_, n);
    position_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, size_t size) override {
    written_ += size;
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return 0; }  // under FD_SETSIZE, as httplib checks

 private:
  std::string_view input_;
  std::size_t position_ = 0;
  std::size_t written_ = 0;
};

/// A cpp-httplib server with the API server's body limit whose every GET, POST and PUT runs
/// `handler`. Before a body is read, server::refuse_unbounded_body turns away what the limit cannot
/// hold (what the server's pre-routing handler does), answering its status.
class MemoryServer : public httplib::Server {
 public:
  MemoryServer(std::size_t payload_max_bytes, Handler handler) {
    set_payload_max_length(payload_max_bytes);
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (const auto refusal = server::refuse_unbounded_body(req)) {
        res.status = refusal->status;
        res.set_header("Connection", "close");
        refused_ = true;
        return HandlerResponse::Handled;
      }
      return HandlerResponse::Unhandled;
    });
    Get(".*", handler);
    Post(".*", handler);
    Put(".*", std::move(handler));
  }

  /// Processes the requests on `input` (keep-alive: up to `max_requests` may follow one another,
  /// until one is refused: its body is never read); returns how many were answered.
  int serve(std::string_view input, int max_requests = 4) {
    MemoryStream stream(input);
    int answered = 0;
    refused_ = false;
    while (answered < max_requests && !refused_) {
      bool closed = false;
      if (!process_request(stream, /*close_connection=*/false, closed, nullptr)) break;
      ++answered;
      if (closed) break;
    }
    return answered;
  }

  /// Whether the last serve() ended on a refused body.
  bool refused() const { return refused_; }

 private:
  bool refused_ = false;
};

}  // namespace mystyle::fuzz
