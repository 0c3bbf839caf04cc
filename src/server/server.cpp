#include "mystyle/server/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <vector>
#include <thread>
#include <mutex>
#include <functional>
#include <deque>
#include <condition_variable>

#include "mystyle/core/error.h"
#include "mystyle/server/http_error.h"
#include "routes.h"

namespace mystyle::server {
namespace {

using Clock = std::chrono::steady_clock;

// A request is read, routed and answered on one worker thread, so the pre-routing handler can
// leave its start time here for the post-routing handler and the logger.
thread_local Clock::time_point t_request_start{};
thread_local double t_request_seconds = 0.0;  // set before the response is written, logged after

// Extra bytes a multipart upload may carry beyond the photo itself (boundaries, form fields).
constexpr std::size_t kMultipartOverheadBytes = std::size_t{1} << 20;

/// The request path as it may appear in a log line: printable ASCII only, and not too long.
std::string loggable(std::string_view path) {
  std::string out;
  for (char c : path.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (path.size() > 200) out += "...";
  return out;
}

std::string status_message(const httplib::Request& req, int status, std::size_t max_upload_bytes) {
  switch (status) {
    case 404:
      return fmt::format("no such route: {} {}", req.method, loggable(req.path));
    case 413:
      return fmt::format("request body over the limit ({} bytes of photo)", max_upload_bytes);
    case 414:
      return "request URI too long";
    case 400:
      return "malformed request";
    default:
      return fmt::format("HTTP status {}", status);
  }
}

}  // namespace

namespace {

/// The encoder's (and the compatibility model's) first call sets up its kernels (a few hundred ms);
/// pay that before serving.
void warm_up(ServerState& state) {
  const cv::Mat blank(96, 64, CV_8UC3, cv::Scalar(235, 235, 235));
  std::vector<std::uint8_t> png;
  cv::imencode(".png", blank, png);
  engine::RecommendRequest request;
  request.k = 1;
  request.max_outfits = 1;
  try {
    state.recommender->recommend(png, "warm-up", request);
    if (state.completer) {
      engine::CompleteRequest complete;
      complete.outfits = 1;
      complete.per_slot = 1;
      state.completer->complete(png, "warm-up", complete);
    }
  } catch (const std::exception& e) {
    spdlog::warn("warm-up query failed: {}", e.what());
  }
}

/// Opens "complete the look" when the workspace has a compatibility model. Without one (or when it
/// does not load) the server still serves everything else, and POST /api/complete answers 503 saying why.
void open_completer(ServerState& state) {
  const auto path = state.workspace.model_file(engine::kCompatModel);
  if (!std::filesystem::exists(path)) {
    state.completer_unavailable =
        "complete the look is not available: this workspace has no compatibility model "
        "(models/compat.model); run `mystyle train --model compat`, then restart the server";
    spdlog::info("complete the look: off (no {}; run `mystyle train --model compat`)", path.string());
    return;
  }
  try {
    const auto t0 = Clock::now();
    state.completer = engine::Completer::open(state.workspace, *state.recommender);
    spdlog::info("complete the look: on ({}, learned from {} outfits, loaded in {:.2f} s)", path.string(),
                 state.completer->description().value("outfits_learned_from", std::int64_t{0}),
                 std::chrono::duration<double>(Clock::now() - t0).count());
  } catch (const std::exception& e) {
    state.completer_unavailable = fmt::format("complete the look is not available: {}", e.what());
    spdlog::warn("complete the look: off ({})", e.what());
  }
}

}  // namespace

/// httplib's ThreadPool with a bound on the connections waiting for a worker: enqueue() (called by
/// the accept loop) waits while `max_queued` are waiting, so a flood of connections is held in the
/// kernel's backlog instead of growing this queue without end.
class BoundedThreadPool : public httplib::TaskQueue {
 public:
  BoundedThreadPool(std::size_t threads, std::size_t max_queued) : max_queued_(std::max<std::size_t>(1, max_queued)) {
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~BoundedThreadPool() override = default;

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return jobs_.size() < max_queued_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    lock.unlock();
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      shutdown_ = true;
    }
    ready_.notify_all();
    space_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (shutdown_ && jobs_.empty()) return;
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      space_.notify_one();
      fn();
    }
  }

  std::size_t max_queued_;
  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> jobs_;
  bool shutdown_ = false;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
};

/// What every response carries. The page loads only its own assets; photos shown before upload are
/// blob: URLs, and what the model saw is a data: URL.
const httplib::Headers& security_headers() {
  static const httplib::Headers headers = {
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'"},
      {"X-Frame-Options", "DENY"}};
  return headers;
}

struct Server::Impl {
  ServerState state;
  httplib::Server http;
  int port = -1;
  std::mutex stop_mutex;
  std::atomic<bool> stop_requested{false};
  bool stopped = false;

  Impl(std::shared_ptr<engine::Recommender> r, engine::Workspace w, ServerOptions o)
      : state(std::move(r), std::move(w), std::move(o)) {}
};

Server::Server(std::shared_ptr<engine::Recommender> recommender, engine::Workspace workspace,
               ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(recommender), std::move(workspace), std::move(options))) {
  if (!impl_->state.recommender) throw Error("server: no recommender");
  ServerState& state = impl_->state;
  httplib::Server& http = impl_->http;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, state.options.threads));
  // httplib takes ownership of the queue it is given.
  const std::size_t max_queued = state.options.max_queued_connections;
  http.new_task_queue = [threads, max_queued] { return new BoundedThreadPool(threads, max_queued); };
  // The body limit is checked against Content-Length before any of the body is read.
  http.set_payload_max_length(state.options.max_upload_bytes + kMultipartOverheadBytes);
  http.set_keep_alive_max_count(100);
  http.set_keep_alive_timeout(state.options.keep_alive_timeout_s);
  http.set_read_timeout(state.options.read_timeout_s, 0);
  http.set_write_timeout(state.options.write_timeout_s, 0);
  http.set_default_headers(security_headers());

  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Every exception a handler throws ends here: the one place errors become statuses.
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        const ErrorReply reply = error_reply(error);
        // 503 (a feature this workspace lacks) was logged once at start, not on every request.
        if (reply.status >= 500 && reply.status != 503)
          spdlog::error("{} {}: {}", req.method, loggable(req.path), reply.message);
        res.status = reply.status;
        res.headers.erase("Content-Type");
        res.set_content(error_json(reply.message), "application/json");
      });

  // Statuses set by httplib itself (no route, body over the limit, malformed request) get a JSON body too.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([&state](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        res.set_content(error_json(status_message(req, res.status, state.options.max_upload_bytes)),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));

  // Metrics are recorded before the response is written (post-routing), so a client that has its
  // answer always finds it counted in /metrics; the log line follows once the bytes are sent.
  http.set_post_routing_handler([&state](const httplib::Request& req, httplib::Response& res) {
    const Clock::time_point start = t_request_start;
    t_request_seconds =
        start == Clock::time_point{} ? 0.0 : std::chrono::duration<double>(Clock::now() - start).count();
    state.metrics.record(route_label(req.path), req.method, res.status, t_request_seconds);
  });
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    t_request_start = {};
    spdlog::info("{} {} {} {:.1f} ms", req.method, loggable(req.path), res.status,
                 t_request_seconds * 1000.0);
  });

  open_completer(state);
  if (state.options.warm_up) warm_up(state);
  add_site_routes(http, state);
  add_api_routes(http, state);
  add_image_routes(http, state);
}

Server::~Server() {
  stop();
}

int Server::bind() {
  const auto& o = impl_->state.options;
  if (o.port < 0 || o.port > 65535) throw Error(fmt::format("port must be 0..65535, not {}", o.port));
  if (o.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(o.host);
  } else {
    impl_->port = impl_->http.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (impl_->port < 0) {
    throw Error(fmt::format("cannot listen on {}:{} (address in use, or not an address of this machine?)",
                            o.host, o.port),
                ErrorKind::kIo);
  }
  return impl_->port;
}

void Server::listen() {
  if (impl_->port < 0) throw Error("server: bind() before listen()");
  if (impl_->stop_requested) return;
  impl_->http.listen_after_bind();
}

void Server::stop() {
  impl_->stop_requested = true;
  std::lock_guard lock(impl_->stop_mutex);
  // httplib's stop() must run once, and only while it is listening.
  if (!impl_->stopped && impl_->http.is_running()) {
    impl_->http.stop();
    impl_->stopped = true;
  }
}

bool Server::is_running() const {
  return impl_->http.is_running();
}

std::string Server::url() const {
  const std::string& host = impl_->state.options.host;
  const bool ipv6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}:{}/", ipv6 ? "[" + host + "]" : host, impl_->port);
}

}  // namespace mystyle::server
