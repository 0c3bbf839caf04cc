#pragma once
// Internal to the server: the state every handler shares, the handlers, and the route table
// (route_table.cpp) they are served and labelled from.
#include <httplib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/engine/completer.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/server/metrics.h"
#include "mystyle/server/server_options.h"
#include "mystyle/server/thumbnail_cache.h"
#include "photo_queue.h"

namespace mystyle::server {

/// The pictures of the model page, served under /images/model/<name>: the training report's (read
/// from reports/<model>/: an autoencoder's reconstructions, a label-trained model's accuracy curve)
/// and the latent-space projection drawn by the server.
inline constexpr std::array<std::string_view, 4> kModelImages = {"loss_curve.png", "reconstructions.png",
                                                                 "accuracy_curve.png", "latent_space.png"};
inline bool is_model_image(std::string_view name) {
  return std::ranges::find(kModelImages, name) != kModelImages.end();
}

/// What one version of the workspace serves: the recommender (catalog graph, model, index) and
/// "complete the look" over it. Immutable once published; a request takes the current one at its
/// start and keeps it to its end, so a reload never changes what a request in flight sees.
struct Snapshot {
  std::shared_ptr<engine::Recommender> recommender;  ///< never null
  /// Opened when models/compat.model exists and loads; otherwise null, and
  /// `completer_unavailable` says why (the 503 message). Thread-safe. Declared after the
  /// recommender it refers to, so it goes first.
  std::shared_ptr<engine::Completer> completer;
  /// Every photo's pieces (a person's, when the workspace has a parse model); never null.
  std::shared_ptr<engine::PieceSearch> pieces;
  std::string completer_unavailable;
  std::uint64_t generation = 1;  ///< 1 at start, +1 per reload or edit applied in place
  std::chrono::system_clock::time_point loaded_at = std::chrono::system_clock::now();
  double load_seconds = 0;
};

/// What the watcher compares to see that the workspace changed: SQLite's data_version on the
/// server's own watching connection (it moves when any other connection commits) and the
/// identity (inode, size, mtime) of each file a snapshot is opened from.
struct WorkspaceStamp {
  std::int64_t data_version = -1;
  std::vector<std::array<std::int64_t, 3>> files;
  bool operator==(const WorkspaceStamp&) const = default;
};

/// The photo queue's settings from the server's options (0 workers: one per core).
inline PhotoQueueSettings photo_queue_settings(const ServerOptions& o) {
  PhotoQueueSettings s;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  s.workers = o.photo_workers > 0 ? static_cast<std::size_t>(o.photo_workers) : cores;
  s.wait_budget = std::chrono::milliseconds(std::max(0, o.photo_wait_ms));
  s.max_admitted = o.max_photo_queries;
  return s;
}

struct ServerState {
  engine::Workspace workspace;
  ServerOptions options;
  engine::RecommenderConfig config;  ///< what reloads open the workspace with
  Metrics metrics;
  ThumbnailCache thumbnails;
  std::mutex latent_mutex;
  std::shared_ptr<const std::string> latent_png;  ///< drawn on first request, then kept
  std::uint64_t latent_generation = 0;            ///< the snapshot it was drawn from
  /// Bytes of photo uploads admitted and held now (ServerOptions::max_upload_memory_bytes bounds it).
  std::atomic<std::size_t> upload_bytes{0};
  /// Where photo queries (recommend, complete) run: a pool sized to the cores, in arrival order,
  /// with a wait budget (ServerOptions::photo_workers, photo_wait_ms, max_photo_queries).
  PhotoQueue photo_queue;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  /// Reloads (Server::reload) and admin edits, one at a time.
  std::mutex reload_mutex;
  std::atomic<std::uint64_t> reloads{0}, reload_failures{0};
  /// Admin edits served without a reopen (apply_edits_locked), and the time of the last one.
  std::atomic<std::uint64_t> edits_in_place{0};
  std::atomic<double> last_edit_ms{0};
  std::string last_reload_error;  ///< guarded by reload_mutex
  std::string last_reload_reason = "start";  ///< why the snapshot's base was last opened (reload_mutex)
  std::chrono::system_clock::time_point last_reload_at = std::chrono::system_clock::now();  ///< (reload_mutex)
  std::optional<catalog::Catalog> watch_db;  ///< the watcher's connection (guarded by reload_mutex)
  WorkspaceStamp last_stamp;                 ///< of the snapshot published last (reload_mutex)

  ServerState(std::shared_ptr<engine::Recommender> r, engine::Workspace w, ServerOptions o)
      : workspace(std::move(w)),
        options(std::move(o)),
        config(r->config()),
        thumbnails(options.thumbnail_cache_bytes),
        photo_queue(photo_queue_settings(options)) {
    auto first = std::make_shared<Snapshot>();
    first->recommender = std::move(r);
    current_ = std::move(first);
  }

  /// The state a request works on from its start to its end.
  std::shared_ptr<const Snapshot> snapshot() const {
    std::lock_guard lock(snapshot_mutex_);
    return current_;
  }
  void publish(std::shared_ptr<const Snapshot> next) {
    std::lock_guard lock(snapshot_mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> current_;
};

/// The workspace's stamp now; with state.reload_mutex held. Defined in server.cpp.
WorkspaceStamp take_workspace_stamp(ServerState& state);
/// Opens the workspace again (Recommender + Completer) as the next snapshot; throws what opening
/// throws. Call with state.reload_mutex held. Defined in server.cpp.
std::shared_ptr<Snapshot> open_snapshot(ServerState& state, std::uint64_t generation);
/// Reopens and publishes (see Server::reload); with state.reload_mutex held. False when the
/// workspace did not open (the old snapshot stays; the error is logged and kept).
bool reload_locked(ServerState& state, const char* why);
/// Publishes the current snapshot with `edits` (already stored in the workspace) applied in place
/// (Recommender::with_edits; docs/live-edits.md), with state.reload_mutex held and `stamp_before`
/// the workspace's stamp taken before the edit was written. False, with nothing published, when the
/// edits cannot be applied so (another change to the workspace is pending, vectors are missing, the
/// overlay is due for a compaction): the caller reopens instead.
bool apply_edits_locked(ServerState& state, const engine::RecommenderEdits& edits, const WorkspaceStamp& stamp_before,
                        const char* what);

/// A route's work on one request: reads `req`, fills `res`, throws what becomes an error status.
using RouteHandler = void (*)(const httplib::Request& req, httplib::Response& res, ServerState& state);

/// The route handlers. route_table.cpp says which serves which method and path.
// api_routes.cpp: the JSON API.
void recommend_photo(const httplib::Request& req, httplib::Response& res, ServerState& state);
void complete_photo(const httplib::Request& req, httplib::Response& res, ServerState& state);
void list_items(const httplib::Request& req, httplib::Response& res, ServerState& state);
void get_item(const httplib::Request& req, httplib::Response& res, ServerState& state);
void get_item_colours(const httplib::Request& req, httplib::Response& res, ServerState& state);
void get_outfit(const httplib::Request& req, httplib::Response& res, ServerState& state);
void list_categories(const httplib::Request& req, httplib::Response& res, ServerState& state);
void describe_model(const httplib::Request& req, httplib::Response& res, ServerState& state);
// admin_routes.cpp: the admin API, behind ServerOptions::admin_token.
void add_item(const httplib::Request& req, httplib::Response& res, ServerState& state);
void delete_item(const httplib::Request& req, httplib::Response& res, ServerState& state);
void add_outfit(const httplib::Request& req, httplib::Response& res, ServerState& state);
// image_routes.cpp: pictures.
void item_thumbnail(const httplib::Request& req, httplib::Response& res, ServerState& state);
void outfit_photo(const httplib::Request& req, httplib::Response& res, ServerState& state);
void model_image(const httplib::Request& req, httplib::Response& res, ServerState& state);
// site_routes.cpp: the web app, the health check and the metrics.
void serve_health(const httplib::Request& req, httplib::Response& res, ServerState& state);
void serve_metrics(const httplib::Request& req, httplib::Response& res, ServerState& state);
void serve_index(const httplib::Request& req, httplib::Response& res, ServerState& state);
void serve_web_asset(const httplib::Request& req, httplib::Response& res, ServerState& state);

enum class Method { kGet, kPost, kDelete };

/// One route: the method and path httplib serves it on, and the label its requests are counted
/// under in /metrics.
struct Route {
  Method method;
  /// httplib's pattern: a regex the whole path must match; its groups are req.matches[1..].
  std::string_view pattern;
  /// The metrics label (route_label): the pattern with its variable part named ("/api/items/{id}").
  std::string_view label;
  RouteHandler handler;
  /// When set, a path gets this route's label only if the pattern's first group passes it (a name
  /// the handler serves); otherwise the next route is tried, and at the end the label is "other".
  bool (*labels_name)(std::string_view name) = nullptr;
  /// A photo query (issue 26): admitted to the photo queue (PhotoQueue::admission) and to the upload
  /// memory (ServerOptions::max_upload_memory_bytes) before its body is read; a refused one has its
  /// body read and dropped, not kept, and gets 503 with Retry-After.
  bool photo_query = false;
};

/// Every route the server serves, in the order httplib tries them (the first that matches the
/// method and path serves the request). Defined in route_table.cpp: a route added there is served
/// and labelled.
std::span<const Route> route_table();
/// Registers every route of route_table() on `http`, its handler called with `state`.
void register_routes(httplib::Server& http, ServerState& state);
/// The first route of route_table() that labels `path` (whatever the method), or null.
const Route* find_route(std::string_view path);

/// The catalog id captured by a route's first regex group ("\\d{1,18}"); kNotFound if it overflows.
std::int64_t id_from_match(const httplib::Request& req);

/// Sets a JSON body (compact) with status 200 unless `status` says otherwise.
void reply_json(httplib::Response& res, const std::string& json_text, int status = 200);

}  // namespace mystyle::server
