// The web app's page and assets (embedded), the health check and the Prometheus metrics.
#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/server/web_assets.h"
#include "routes.h"

namespace mystyle::server {
namespace {

void serve_asset(const httplib::Request& req, httplib::Response& res, const WebAsset& asset) {
  // Revalidated on every load (a rebuilt server may carry new assets) but answered with 304 when unchanged.
  const std::string etag = fmt::format("\"{:016x}\"", fnv1a64(asset.bytes));
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "no-cache");
  if (req.get_header_value("If-None-Match") == etag) {
    res.status = 304;
    return;
  }
  res.set_content(asset.bytes.data(), asset.bytes.size(), std::string(asset.content_type).c_str());
}

std::string gauges(const ServerState& state) {
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state.started).count();
  std::string out;
  auto gauge = [&out](const char* name, const char* help, const char* type, double value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  gauge("mystyle_uptime_seconds", "Seconds since the server started.", "gauge", uptime);
  const auto snap = state.snapshot();
  gauge("mystyle_catalog_items", "Items in the loaded catalog.", "gauge",
        double(snap->recommender->graph().items().size()));
  gauge("mystyle_catalog_outfits", "Outfits in the loaded catalog.", "gauge",
        double(snap->recommender->graph().outfits().size()));
  gauge("mystyle_catalog_generation", "Version of the workspace served: 1 at start, +1 per reload.", "gauge",
        double(snap->generation));
  gauge("mystyle_reloads_total", "Reloads of the workspace that were swapped in.", "counter",
        double(state.reloads.load()));
  gauge("mystyle_reload_failures_total", "Reloads that failed (the previous state kept serving).", "counter",
        double(state.reload_failures.load()));
  gauge("mystyle_thumbnail_cache_bytes", "Bytes of thumbnails held in memory.", "gauge",
        double(state.thumbnails.bytes()));
  gauge("mystyle_thumbnail_cache_entries", "Thumbnails held in memory.", "gauge",
        double(state.thumbnails.entries()));
  gauge("mystyle_thumbnail_cache_hits_total", "Thumbnail requests served from memory.", "counter",
        double(state.thumbnails.hits()));
  gauge("mystyle_thumbnail_cache_misses_total", "Thumbnail requests that decoded a photo.", "counter",
        double(state.thumbnails.misses()));
  const PhotoQueueStats q = state.photo_queue.stats();
  gauge("mystyle_photo_workers", "Photo queries computed at once (the photo queue's workers).", "gauge",
        double(q.workers));
  gauge("mystyle_photo_queries_running", "Photo queries being computed now.", "gauge", double(q.running));
  gauge("mystyle_photo_queries_waiting", "Photo queries waiting in the queue for a worker now.", "gauge",
        double(q.waiting));
  gauge("mystyle_photo_queries_served_total", "Photo queries run on a worker.", "counter", double(q.served));
  gauge("mystyle_photo_queries_refused_total",
        "Photo queries refused with 503 (expected wait past the budget on arrival, or budget run out in the queue).",
        "counter", double(q.refused_early + q.refused_late));
  gauge("mystyle_photo_query_mean_seconds", "Moving average of a photo query's time on a worker.", "gauge",
        q.mean_service_ms / 1000.0);
  return out;
}

}  // namespace

std::int64_t id_from_match(const httplib::Request& req) {
  std::int64_t id = 0;
  const std::string& text = req.matches[1];
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size())
    throw Error(fmt::format("no such id '{}'", text), ErrorKind::kNotFound);
  return id;
}

void serve_health(const httplib::Request&, httplib::Response& res, ServerState& state) {
  const auto snap = state.snapshot();
  const auto& rec = *snap->recommender;
  nlohmann::json doc{
      {"status", "ok"},
      {"model", rec.config().model},
      {"items", rec.graph().items().size()},
      {"outfits", rec.graph().outfits().size()},
      {"indexed_items", rec.indexed_items()},
      {"generation", snap->generation},
      {"loaded_at_unix",
       std::chrono::duration_cast<std::chrono::seconds>(snap->loaded_at.time_since_epoch()).count()},
      {"reloads", state.reloads.load()},
      {"reload_failures", state.reload_failures.load()},
      {"last_reload_error", nullptr},
      {"edits_in_place", state.edits_in_place.load()},
      {"last_edit_ms", state.last_edit_ms.load()},
      {"edits_since_reopen", rec.edits_applied()},
      {"last_reopen", nullptr}};
  // try_lock: a reload in progress (seconds) must not hold up the health check.
  if (std::unique_lock lock(state.reload_mutex, std::try_to_lock); lock) {
    if (!state.last_reload_error.empty()) doc["last_reload_error"] = state.last_reload_error;
    doc["last_reopen"] = {
        {"reason", state.last_reload_reason},
        {"at_unix",
         std::chrono::duration_cast<std::chrono::seconds>(state.last_reload_at.time_since_epoch()).count()}};
  }
  reply_json(res, doc.dump());
}

void serve_metrics(const httplib::Request&, httplib::Response& res, ServerState& state) {
  res.set_header("Cache-Control", "no-store");
  res.set_content(state.metrics.prometheus_text(gauges(state)), "text/plain; version=0.0.4; charset=utf-8");
}

void serve_index(const httplib::Request& req, httplib::Response& res, ServerState&) {
  const WebAsset* page = find_web_asset("index.html");
  if (page == nullptr) throw Error("this build has no web app", ErrorKind::kNotFound);
  serve_asset(req, res, *page);
}

// The name is only a key into the embedded table: nothing is read from disk.
void serve_web_asset(const httplib::Request& req, httplib::Response& res, ServerState&) {
  const WebAsset* asset = find_web_asset(req.matches[1].str());
  if (asset == nullptr) throw Error(fmt::format("no such page: {}", req.path), ErrorKind::kNotFound);
  serve_asset(req, res, *asset);
}

}  // namespace mystyle::server
