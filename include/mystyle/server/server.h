#pragma once
/// The HTTP face of My Style Manager: the web app (embedded in the binary at build time) and the JSON
/// API documented in docs/api.md, over one engine::Recommender opened once by the caller.
///
/// Every error a request can cause becomes a JSON body {"error": "..."} with a 4xx/5xx status
/// (see http_error.h); the server never dies on a request. Files are served by catalog id only,
/// never by a path taken from the request. One log line per request (method, path, status, ms).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "mystyle/engine/recommender.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/server/server_options.h"

namespace mystyle::server {

class Server {
 public:
  /// `recommender` must stay open while the server runs; `workspace` is where its reports live.
  Server(std::shared_ptr<engine::Recommender> recommender, engine::Workspace workspace,
         ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds options.host:options.port and returns the port bound (the free one chosen for port 0).
  /// Throws mystyle::Error (kIo) when the address cannot be bound.
  int bind();
  /// Serves requests until stop() is called. Call bind() first. Blocks the calling thread.
  void listen();
  /// Makes listen() return after the requests in flight. Thread-safe; may be called before listen().
  void stop();
  /// Reopens the workspace (catalog, model, embeddings, index, compatibility model) and swaps it
  /// in atomically: requests in flight finish on the state they started with, later ones see the
  /// new one. False when the workspace does not open: the old state keeps serving and the error
  /// is logged (and shown by /healthz). Thread-safe; concurrent calls run one after the other.
  bool reload();
  /// Runs `write` (which changes the workspace and says what it wrote: a replica's pull of the
  /// shared catalog) with the reloads held off, then serves what it wrote in place
  /// (docs/live-edits.md), or reopens when it cannot. False when a needed reopen failed.
  bool apply_edits(const std::function<engine::RecommenderEdits()>& write, const char* what);
  /// 1 at start, +1 per successful reload or edit applied in place.
  std::uint64_t generation() const;
  /// True while listen() is accepting connections.
  bool is_running() const;
  /// http://host:port/ once bound.
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mystyle::server
