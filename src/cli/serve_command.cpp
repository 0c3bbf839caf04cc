// `mystyle serve`: the web app and the JSON API, over a recommender loaded once.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "commands.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/pgsync/pg_catalog.h"
#include "mystyle/server/server.h"

namespace mystyle::cli {
namespace {

struct Args {
  std::filesystem::path workspace;
  server::ServerOptions options;
  std::string model = engine::kDefaultModel, pooling = "flat", index = "exact", hnsw_metric = "cosine";
  std::size_t max_upload_mb = 16, thumbnail_cache_mb = 64;
  std::string catalog = catalog_url_default();  ///< empty: the workspace's SQLite catalog
};

// Set by the signal handlers, read by the watcher thread (lock-free atomics are async-signal-safe).
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_reload_signal{false};

extern "C" void on_stop_signal(int signo) {
  g_stop_signal = signo;
}

extern "C" void on_reload_signal(int) {
  g_reload_signal = true;
}

/// SIGINT and SIGTERM only set a flag, SIGHUP another; the watcher thread stops or reloads the
/// server outside the handler.
void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  struct sigaction reload {};
  reload.sa_handler = on_reload_signal;
  sigemptyset(&reload.sa_mask);
  sigaction(SIGHUP, &reload, nullptr);
}

void serve(const Args& args) {
  engine::RecommenderConfig config;
  config.model = args.model;
  config.pooling = engine::parse_pooling(args.pooling);
  config.index = engine::parse_index_kind(args.index);
  config.hnsw_metric = index::parse_metric(args.hnsw_metric);
  config.fold_edit_log = true;  // a log that changes rows is folded, not copied into memory for the server's life
  server::ServerOptions options = args.options;
  options.max_upload_bytes = args.max_upload_mb << 20;
  options.thumbnail_cache_bytes = args.thumbnail_cache_mb << 20;
  config.limits.max_bytes = options.max_upload_bytes;

  if (options.admin_token.empty()) {
    if (const char* token = std::getenv("MYSTYLE_ADMIN_TOKEN")) options.admin_token = token;
  }
  if (!options.admin_token.empty() && options.admin_token.size() < 16) {
    throw Error("the admin token must be at least 16 characters (e.g. `openssl rand -hex 16`)",
                ErrorKind::kInvalidInput);
  }
  install_signal_handlers();
  // A shared catalog: the workspace becomes its mirror (models stay the workspace's own).
  std::shared_ptr<pgsync::Mirror> mirror;
  if (!args.catalog.empty()) {
    if (!pgsync::is_postgres_url(args.catalog))
      throw Error(fmt::format("--catalog takes a postgresql:// URL, not '{}'", args.catalog), ErrorKind::kInvalidInput);
    mirror = std::make_shared<pgsync::Mirror>(args.catalog, engine::Workspace(args.workspace), config.model,
                                              config.pooling);
    const auto r = mirror->start();
    if (r.resumed) {
      spdlog::info("shared catalog: {} already mirrors it; changes since its last start: {} pulled (now at change "
                   "{}) in {:.2f} s",
                   args.workspace.string(), r.changes, r.position, r.seconds);
    } else {
      spdlog::info("shared catalog: {} items, {} outfits, {} vectors mirrored into {} ({} photos fetched) in {:.2f} s",
                   r.items, r.outfits, r.vectors, args.workspace.string(), r.photos_fetched, r.seconds);
    }
    options.writer = std::make_shared<pgsync::PgWriter>(mirror, config.limits);
    (void)mirror->take_edits();  // the full sync's: the open below reads all of it
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<engine::Recommender> recommender =
      engine::Recommender::open(engine::Workspace(args.workspace), config);
  // The start's freed buffers (a full pull's rows, the index sync's vectors) back to the system.
  (void)release_free_heap();
  spdlog::info("loaded {}: {} items, {} outfits, model {}, {} index of {} items ({} vectors{}) in {:.2f} s",
               args.workspace.string(), recommender->graph().items().size(),
               recommender->graph().outfits().size(), config.model, args.index, recommender->indexed_items(),
               recommender->index().size(), recommender->views_per_item() > 1 ? ", with edited views" : "",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  server::Server server(recommender, engine::Workspace(args.workspace), options);
  server.bind();
  print_line(fmt::format("mystyle serve: listening on {}", server.url()));
  spdlog::info("live updates: {}; admin API: {}",
               options.watch_interval_ms > 0 ? fmt::format("the workspace is checked every {} ms, SIGHUP reloads",
                                                           options.watch_interval_ms)
                                             : std::string("SIGHUP reloads"),
               options.admin_token.empty() ? "off (no --admin-token)" : "on");
  std::cout.flush();

  std::jthread follower;
  // Each pull runs with the server's reloads held off; what it wrote is served in place (docs/live-edits.md).
  if (mirror) {
    follower = std::jthread([mirror, &server](std::stop_token stop) {
      mirror->follow(stop, [&](const std::function<pgsync::SyncReport()>& pull) {
        server.apply_edits(
            [&] {
              pull();
              return mirror->take_edits();
            },
            "the shared catalog changed");
      });
    });
  }
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    bool stopping = false;
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (const int signo = g_stop_signal.load(); signo != 0 && !stopping) {
        spdlog::info("{}: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
        stopping = true;
      }
      // Repeated until listen() returns: a signal may arrive before the server is accepting.
      if (stopping) server.stop();
      if (g_reload_signal.exchange(false) && !stopping) {
        spdlog::info("SIGHUP: reloading {}", args.workspace.string());
        server.reload();
      }
    }
  });
  server.listen();
  done = true;
  watcher.join();
  spdlog::info("stopped");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the web app and the JSON API (docs/api.md)");
  add_workspace_option(*cmd, args->workspace);
  cmd->add_option("--host", args->options.host, "Address to listen on (loopback by default)")
      ->capture_default_str();
  cmd->add_option("--port,-p", args->options.port, "Port (0 = any free port, printed when ready)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--threads", args->options.threads,
                  "Connections served at once (a thread each, started on demand; photo work runs on --photo-workers)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--photo-workers", args->options.photo_workers,
                  "Photo queries computed at once, in arrival order (0 = one per core)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_option("--photo-wait-ms", args->options.photo_wait_ms,
                  "Longest a photo query waits for a worker; one expected to wait longer gets 503 with Retry-After")
      ->check(CLI::Range(0, 600'000))
      ->capture_default_str();
  cmd->add_option("--max-upload-mb", args->max_upload_mb, "Largest photo accepted, in MiB (larger: 413)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--thumbnail-cache-mb", args->thumbnail_cache_mb, "Memory for item thumbnails, in MiB")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  cmd->add_option("--max-photo-queries", args->options.max_photo_queries,
                  "Photo queries (recommend, complete) admitted at once, waiting or running; more get 503 with "
                  "Retry-After (0 = no bound but --photo-wait-ms)")
      ->capture_default_str();
  cmd->add_option("--read-timeout", args->options.read_timeout_s,
                  "Seconds a client may stall while sending (or idle between requests: --keep-alive)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--keep-alive", args->options.keep_alive_timeout_s, "Seconds an idle connection is kept")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--watch-ms", args->options.watch_interval_ms,
                  "Check the workspace for changes (imports, embeddings, models by other processes) every this "
                  "many ms and serve them without a restart (0 = only on SIGHUP)")
      ->check(CLI::Range(0, 3'600'000))
      ->capture_default_str();
  cmd->add_option("--max-edits-in-place", args->options.max_edits_in_place,
                  "Serve admin edits without reopening the workspace while the items and outfits they changed "
                  "since the last reopen stay at most this many (0 = every edit reopens; docs/live-edits.md)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}))
      ->capture_default_str();
  cmd->add_option("--admin-token", args->options.admin_token,
                  "Turn on the admin API (POST/DELETE /api/items, POST /api/outfits) for requests with "
                  "`Authorization: Bearer TOKEN`; default: $MYSTYLE_ADMIN_TOKEN, else off");
  cmd->add_option("--catalog", args->catalog,
                  "A shared catalog several servers follow: postgresql://user@host:port/db (default: "
                  "$MYSTYLE_CATALOG, else the workspace's own catalog.db); the workspace then holds the models "
                  "and a mirror");
  cmd->add_option("--model", args->model, "Trained model")->capture_default_str();
  cmd->add_option("--pooling", args->pooling, "Embeddings: flat or mean")
      ->check(CLI::IsMember({"flat", "mean"}))
      ->capture_default_str();
  cmd->add_option("--index", args->index, "exact or hnsw")
      ->check(CLI::IsMember({"exact", "hnsw"}))
      ->capture_default_str();
  cmd->add_option("--hnsw-metric", args->hnsw_metric, "The metric an HNSW index is built for")
      ->check(CLI::IsMember({"cosine", "euclidean", "pearson"}))
      ->capture_default_str();
  cmd->callback([args] { serve(*args); });
}

}  // namespace mystyle::cli
