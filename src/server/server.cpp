#include "mystyle/server/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "mystyle/engine/photo_views.h"

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/server/http_error.h"
#include "connection_threads.h"
#include "request_parsing.h"
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
void warm_up(const Snapshot& snap) {
  const cv::Mat blank(96, 64, CV_8UC3, cv::Scalar(235, 235, 235));
  std::vector<std::uint8_t> png;
  cv::imencode(".png", blank, png);
  engine::RecommendRequest request;
  request.k = 1;
  request.max_outfits = 1;
  try {
    snap.recommender->recommend(png, "warm-up", request);
    if (snap.pieces) snap.pieces->warm_up();
    if (snap.completer) {
      engine::CompleteRequest complete;
      complete.outfits = 1;
      complete.per_slot = 1;
      snap.completer->complete(png, "warm-up", complete);
    }
  } catch (const std::exception& e) {
    spdlog::warn("warm-up query failed: {}", e.what());
  }
}

/// Opens "complete the look" when the workspace has a compatibility model. Without one (or when it
/// does not load) the server still serves everything else, and POST /api/complete answers 503 saying why.
void open_completer(Snapshot& snap, const engine::Workspace& workspace, bool quiet, const Snapshot* previous = nullptr) {
  const auto path = workspace.model_file(engine::kCompatModel);
  if (!std::filesystem::exists(path)) {
    snap.completer_unavailable =
        "complete the look is not available: this workspace has no compatibility model "
        "(models/compat.model); run `mystyle train --model compat`";
    if (!quiet) spdlog::info("complete the look: off (no {}; run `mystyle train --model compat`)", path.string());
    return;
  }
  try {
    const auto t0 = Clock::now();
    // After a reload, what the previous snapshot computed is reused where nothing changed.
    snap.completer = previous && previous->completer
                         ? engine::Completer::reopen(workspace, *snap.recommender, *previous->completer)
                         : engine::Completer::open(workspace, *snap.recommender);
    if (!quiet) {
      spdlog::info("complete the look: on ({}, learned from {} outfits, loaded in {:.2f} s)", path.string(),
                   snap.completer->description().value("outfits_learned_from", std::int64_t{0}),
                   std::chrono::duration<double>(Clock::now() - t0).count());
    }
  } catch (const std::exception& e) {
    snap.completer_unavailable = fmt::format("complete the look is not available: {}", e.what());
    spdlog::warn("complete the look: off ({})", e.what());
  }
}

/// The photo's pieces: with the workspace's parse model when it has one that loads; otherwise every
/// photo is one garment, as before (the server still answers, and says why in its log).
void open_pieces(Snapshot& snap, const engine::Workspace& workspace, bool quiet) {
  try {
    snap.pieces = engine::PieceSearch::open(workspace, *snap.recommender);
    if (!quiet) {
      spdlog::info("photos of people: {}", snap.pieces->has_parser()
                                               ? "parsed into pieces (models/parse.model)"
                                               : "off, every photo is one garment (run `mystyle train --model parse`)");
    }
  } catch (const std::exception& e) {
    snap.pieces = engine::PieceSearch::without_parser(*snap.recommender);
    spdlog::warn("photos of people: off, every photo is one garment ({})", e.what());
  }
}

}  // namespace

WorkspaceStamp take_workspace_stamp(ServerState& state) {
  WorkspaceStamp stamp;
  try {
    if (!state.watch_db) state.watch_db.emplace(state.workspace.root());
    auto s = state.watch_db->db().prepare("PRAGMA data_version");
    s.step();
    stamp.data_version = s.column_int64(0);
  } catch (const std::exception& e) {
    state.watch_db.reset();  // try a fresh connection next time
    spdlog::warn("watching {}: {}", state.workspace.root().string(), e.what());
  }
  const std::string pooling = engine::pooling_name(state.config.pooling);
  const auto embeddings = state.workspace.embeddings_file(state.config.model, pooling);
  const auto views = engine::views_file(state.workspace, state.config.model, state.config.pooling);
  // Their edit logs too: another process's admin edit appends there (embeddings.h).
  for (const auto& path : {embeddings, engine::edit_log_file(embeddings), views, engine::edit_log_file(views),
                           state.workspace.model_file(state.config.model),
                           state.workspace.model_file(engine::kCompatModel),
                           state.workspace.model_file("parse")}) {
    stamp.files.push_back(file_stamp(path));
  }
  return stamp;
}

std::shared_ptr<Snapshot> open_snapshot(ServerState& state, std::uint64_t generation) {
  const auto t0 = Clock::now();
  auto snap = std::make_shared<Snapshot>();
  snap->recommender = engine::Recommender::open(state.workspace, state.config);
  open_pieces(*snap, state.workspace, /*quiet=*/true);
  const auto previous = state.snapshot();
  open_completer(*snap, state.workspace, /*quiet=*/true, previous.get());
  if (state.options.warm_up) warm_up(*snap);
  snap->generation = generation;
  snap->load_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return snap;
}

bool apply_edits_locked(ServerState& state, const engine::RecommenderEdits& edits, const WorkspaceStamp& stamp_before,
                        const char* what) {
  const auto t0 = Clock::now();
  if (edits.empty() || edits.reopen) return false;      // nothing described: a reopen reads what was stored
  if (stamp_before != state.last_stamp) return false;  // something else changed too: a reopen reads it all
  const auto current = state.snapshot();
  if (current->recommender->graph().overlay_size() + edits.added.size() + edits.removed.size() >
      state.options.max_edits_in_place) {
    return false;  // a reopen folds the overlay into the base
  }
  try {
    auto next = std::make_shared<Snapshot>(*current);
    next->recommender = current->recommender->with_edits(edits);
    next->pieces = current->pieces->over(*next->recommender, edits.added);
    if (current->completer) next->completer = current->completer->over(*next->recommender, edits);
    next->generation = current->generation + 1;
    next->loaded_at = std::chrono::system_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    state.publish(std::move(next));
    // The stamp of what this process wrote: the watcher must not reopen for it.
    state.last_stamp = take_workspace_stamp(state);
    ++state.edits_in_place;
    state.last_edit_ms = ms;
    spdlog::info("{}: applied in place in {:.2f} ms (generation {}, {} edits since the last reopen)", what, ms,
                 current->generation + 1, state.snapshot()->recommender->edits_applied());
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("{}: not applied in place ({}); reopening", what, e.what());
    return false;
  }
}

bool reload_locked(ServerState& state, const char* why) {
  const WorkspaceStamp stamp = take_workspace_stamp(state);
  const auto current = state.snapshot();
  try {
    auto next = open_snapshot(state, current->generation + 1);
    const auto& rec = *next->recommender;
    spdlog::info("reloaded ({}): generation {}, {} items, {} outfits, {} indexed, complete the look {}, in {:.2f} s",
                 why, next->generation, rec.graph().items().size(), rec.graph().outfits().size(),
                 rec.indexed_items(),
                 next->completer ? fmt::format("on ({} items computed)", next->completer->items_computed()) : "off",
                 next->load_seconds);
    state.publish(std::move(next));
    state.last_stamp = stamp;
    state.last_reload_error.clear();
    state.last_reload_reason = why;
    state.last_reload_at = std::chrono::system_clock::now();
    ++state.reloads;
    return true;
  } catch (const std::exception& e) {
    state.last_stamp = stamp;  // not again until something changes
    state.last_reload_error = e.what();
    ++state.reload_failures;
    spdlog::warn("reload ({}) failed; still serving generation {}: {}", why, current->generation, e.what());
    return false;
  }
}

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
  socket_t listen_socket = INVALID_SOCKET;  ///< set by httplib's socket options callback at bind
  std::mutex stop_mutex;
  std::atomic<bool> stop_requested{false};
  bool stopped = false;
  std::jthread watcher;  ///< live updates (ServerOptions::watch_interval_ms); last, so it stops first

  Impl(std::shared_ptr<engine::Recommender> r, engine::Workspace w, ServerOptions o)
      : state(std::move(r), std::move(w), std::move(o)) {}

  /// Checks the workspace's stamp every interval and reloads when it moved.
  void watch(std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any wake;
    const auto interval = std::chrono::milliseconds(state.options.watch_interval_ms);
    for (;;) {
      {
        std::unique_lock lock(m);
        if (wake.wait_for(lock, stop, interval, [] { return false; }); stop.stop_requested()) return;
      }
      std::lock_guard lock(state.reload_mutex);
      if (take_workspace_stamp(state) != state.last_stamp) reload_locked(state, "the workspace changed");
    }
  }
};

Server::Server(std::shared_ptr<engine::Recommender> recommender, engine::Workspace workspace,
               ServerOptions options)
    // Checked before the state is made from it.
    : impl_(recommender ? std::make_unique<Impl>(std::move(recommender), std::move(workspace), std::move(options))
                        : throw Error("server: no recommender")) {
  ServerState& state = impl_->state;
  httplib::Server& http = impl_->http;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, state.options.threads));
  // httplib takes ownership of the queue it is given. A few threads stay for the next connections;
  // the others end after 10 s idle (the keep-alive timeout closes an idle connection before that).
  const std::size_t max_queued = state.options.max_queued_connections;
  http.new_task_queue = [threads, max_queued] {
    return new ConnectionThreads(threads, max_queued, /*min_threads=*/8, /*idle_exit=*/std::chrono::seconds(10));
  };
  // The listening socket, kept to give it a real backlog once httplib has listened with its own (5).
  http.set_socket_options([impl = impl_.get()](socket_t sock) {
    httplib::default_socket_options(sock);
    impl->listen_socket = sock;
  });
  // The body limit is checked against Content-Length before any of the body is read.
  http.set_payload_max_length(state.options.max_upload_bytes + kMultipartOverheadBytes);
  // Answers go out at once: cpp-httplib writes the headers and the body apart, and with Nagle's
  // algorithm on the body waited for the client's delayed ACK of the headers (40 ms on Linux) on
  // every keep-alive answer. Set on the listening socket; accepted sockets inherit it (Linux).
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(100);
  http.set_keep_alive_timeout(state.options.keep_alive_timeout_s);
  http.set_read_timeout(state.options.read_timeout_s, 0);
  http.set_write_timeout(state.options.write_timeout_s, 0);
  http.set_default_headers(security_headers());

  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    // Before any body is read: cpp-httplib holds a body to the limit only through its
    // Content-Length, so chunked, unsized and compressed bodies are refused here (411/415) and the
    // connection closes (their unread bytes must not be read as the next request).
    if (const auto refusal = refuse_unbounded_body(req)) {
      res.status = refusal->status;
      res.set_header("Connection", "close");
      res.set_content(error_json(refusal->message), "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }
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

  {
    // The caller's recommender is generation 1; "complete the look" is opened over it here.
    auto first = std::make_shared<Snapshot>(*state.snapshot());
    open_pieces(*first, state.workspace, /*quiet=*/false);
    open_completer(*first, state.workspace, /*quiet=*/false);
    if (state.options.warm_up) warm_up(*first);
    state.publish(std::move(first));
    std::lock_guard lock(state.reload_mutex);
    state.last_stamp = take_workspace_stamp(state);
  }
  register_routes(http, state);
  if (state.options.watch_interval_ms > 0)
    impl_->watcher = std::jthread([impl = impl_.get()](std::stop_token stop) { impl->watch(stop); });
}

bool Server::reload() {
  std::lock_guard lock(impl_->state.reload_mutex);
  return reload_locked(impl_->state, "asked to");
}

bool Server::apply_edits(const std::function<engine::RecommenderEdits()>& write, const char* what) {
  ServerState& state = impl_->state;
  std::lock_guard lock(state.reload_mutex);
  const WorkspaceStamp before = take_workspace_stamp(state);
  const engine::RecommenderEdits edits = write();
  if (edits.empty()) {  // nothing written (a pull with no changes): reopen only when the workspace moved
    if (take_workspace_stamp(state) != state.last_stamp) return reload_locked(state, what);
    return true;
  }
  return apply_edits_locked(state, edits, before, what) || reload_locked(state, what);
}

std::uint64_t Server::generation() const {
  return impl_->state.snapshot()->generation;
}

Server::~Server() {
  if (impl_->watcher.joinable()) {
    impl_->watcher.request_stop();
    impl_->watcher.join();
  }
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
  // listen(2) again on a listening socket only sets its backlog (Linux).
  int accepting = 0;
  socklen_t len = sizeof accepting;
  if (impl_->listen_socket != INVALID_SOCKET && o.listen_backlog > 0 &&
      ::getsockopt(impl_->listen_socket, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting != 0 &&
      ::listen(impl_->listen_socket, o.listen_backlog) != 0) {
    spdlog::warn("could not set the listen backlog to {}: {}", o.listen_backlog, std::strerror(errno));
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
