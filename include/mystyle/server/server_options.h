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
  /// Connections served at once: each has a thread, started when a connection finds none idle and
  /// ended after a while idle (a mostly sleeping thread and its stack's touched pages, not a core).
  /// Photo work does not run on these threads but on `photo_workers` (issue 26).
  int threads = 512;
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
  /// Accepted connections waiting for a thread once `threads` are busy; with this many waiting, the
  /// server stops accepting until one is taken (the rest wait in the kernel's backlog,
  /// `listen_backlog`): memory stays bounded under a flood.
  std::size_t max_queued_connections = 64;
  /// Connections the kernel holds for the server before it accepts them (listen(2)'s backlog; the
  /// kernel caps it at net.core.somaxconn). cpp-httplib's own is 5: a burst of new connections past it
  /// had their SYN dropped and retried a second later.
  int listen_backlog = 1024;
  /// Photo queries (recommend, complete) computed at once, each on its own thread of a pool fed in
  /// arrival order (FIFO). 0 = one per core (std::thread::hardware_concurrency).
  int photo_workers = 0;
  /// Longest a photo query waits in that queue. A query whose expected wait on arrival (queued
  /// queries x mean query time / workers) is past it gets 503 with Retry-After at once, before its
  /// upload is read; one that is still waiting when it runs out gets the same then.
  int photo_wait_ms = 1000;
  /// Photo queries admitted at once, waiting or running; one more gets 503 with Retry-After.
  /// 0 = no bound but `photo_wait_ms` (and `threads`).
  std::size_t max_photo_queries = 0;
  /// Photo uploads held in memory at once, in bytes (by Content-Length, reserved before the body is
  /// read); one more gets 503 with Retry-After. With many connection threads this, not `threads`,
  /// bounds the memory a flood of large uploads can take.
  std::size_t max_upload_memory_bytes = std::size_t{512} << 20;
  /// Live updates: every this many milliseconds the server checks whether the workspace changed
  /// (a commit to catalog.db by another process, new embeddings, views, or models) and, when it
  /// did, reopens it and swaps it in (Server::reload). 0 = only on reload() (SIGHUP in `serve`).
  int watch_interval_ms = 500;
  /// Admin edits are served without reopening the workspace (applied in place, docs/live-edits.md)
  /// while the items and outfits they changed since the last reopen stay at most this many; the
  /// edit past it reopens, which folds them into the loaded base. 0 = every edit reopens.
  std::size_t max_edits_in_place = 20000;
  /// The admin API (POST /api/items, DELETE /api/items/{id}, POST /api/outfits) answers only
  /// requests carrying `Authorization: Bearer <admin_token>`; empty = the admin API is off (403).
  std::string admin_token;
  /// Where the admin API writes; null = into the workspace (engine::WorkspaceWriter). A shared
  /// catalog (pgsync::PgWriter) writes to its database and brings the workspace's mirror up to
  /// date before returning, so the reload that follows serves the edit.
  std::shared_ptr<engine::CatalogWriter> writer;
};

}  // namespace mystyle::server
