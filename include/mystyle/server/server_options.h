#pragma once
/// What a Server is started with (server.h). Apart from server.h so the server's internals
/// (src/server/routes.h) can hold it without including the Server class.
#include <cstddef>
#include <memory>
#include <string>

#include "mystyle/engine/catalog_edits.h"

namespace mystyle::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  ///< loopback unless asked otherwise
  int port = 8080;                 ///< 0 = any free port (bind() returns the one chosen)
  int threads = 16;                ///< worker threads, i.e. connections served at once
  std::size_t max_upload_bytes = std::size_t{16} << 20;       ///< larger uploads get 413
  std::size_t thumbnail_cache_bytes = std::size_t{64} << 20;  ///< in-memory JPEG thumbnails, LRU
  int thumbnail_side_px = 360;                                ///< longer side of an item thumbnail
  int outfit_photo_side_px = 720;                             ///< longer side of an outfit photo
  bool warm_up = true;  ///< run one query on a blank image before serving, so the first user's is fast
  /// Slow or idle clients cannot hold the workers: a read or write that waits longer fails and the
  /// connection closes; an idle keep-alive connection closes after keep_alive_timeout_s.
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  /// 5, not 2: at 2 s a loaded server (2 cores, 64 soak connections) closed keep-alive connections as
  /// their next request arrived: 4 dropped requests and 3 failed /healthz in a 4-minute soak, none at 5.
  int keep_alive_timeout_s = 5;
  /// Accepted connections waiting for a worker; with this many waiting, the server stops accepting
  /// until one is taken (the rest wait in the kernel's backlog): memory stays bounded under a flood.
  std::size_t max_queued_connections = 64;
  /// Photo queries (recommend, complete) admitted at once, running or waiting for the model; one
  /// more gets 503 with Retry-After instead of a growing wait, and the other workers stay free for
  /// pages, images and /healthz. 0 = three quarters of `threads` (at least 1).
  std::size_t max_photo_queries = 0;
  /// Live updates: every this many milliseconds the server checks whether the workspace changed
  /// (a commit to catalog.db by another process, new embeddings, views, or models) and, when it
  /// did, reopens it and swaps it in (Server::reload). 0 = only on reload() (SIGHUP in `serve`).
  int watch_interval_ms = 500;
  /// The admin API (POST /api/items, DELETE /api/items/{id}, POST /api/outfits) answers only
  /// requests carrying `Authorization: Bearer <admin_token>`; empty = the admin API is off (403).
  std::string admin_token;
  /// Where the admin API writes; null = into the workspace (engine::WorkspaceWriter). A shared
  /// catalog (pgsync::PgWriter) writes to its database and brings the workspace's mirror up to
  /// date before returning, so the reload that follows serves the edit.
  std::shared_ptr<engine::CatalogWriter> writer;
};

}  // namespace mystyle::server
