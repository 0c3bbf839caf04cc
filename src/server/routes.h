#pragma once
// Internal to the server: the state every handler shares, and the route groups registered on it.
#include <httplib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "mystyle/engine/completer.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/server/metrics.h"
#include "mystyle/server/server.h"
#include "mystyle/server/thumbnail_cache.h"

namespace mystyle::server {

/// The pictures of the model page, served under /images/model/<name>: the training report's (read
/// from reports/<model>/: an autoencoder's reconstructions, a label-trained model's accuracy curve)
/// and the latent-space projection drawn by the server.
inline constexpr std::array<std::string_view, 4> kModelImages = {"loss_curve.png", "reconstructions.png",
                                                                 "accuracy_curve.png", "latent_space.png"};
inline bool is_model_image(std::string_view name) {
  return std::ranges::find(kModelImages, name) != kModelImages.end();
}

struct ServerState {
  std::shared_ptr<engine::Recommender> recommender;
  engine::Workspace workspace;
  ServerOptions options;
  Metrics metrics;
  ThumbnailCache thumbnails;
  std::mutex latent_mutex;
  std::shared_ptr<const std::string> latent_png;  ///< drawn on first request, then kept
  /// "Complete the look" (POST /api/complete), opened at start when models/compat.model exists and
  /// loads; otherwise null, and `completer_unavailable` says why (the 503 message). Thread-safe.
  std::unique_ptr<engine::Completer> completer;
  std::string completer_unavailable;
  /// Photo queries admitted now (ServerOptions::max_photo_queries bounds it).
  std::atomic<std::size_t> photo_queries{0};
  std::size_t photo_query_limit = 1;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  ServerState(std::shared_ptr<engine::Recommender> r, engine::Workspace w, ServerOptions o)
      : recommender(std::move(r)),
        workspace(std::move(w)),
        options(std::move(o)),
        thumbnails(options.thumbnail_cache_bytes) {
    photo_query_limit = options.max_photo_queries > 0
                            ? options.max_photo_queries
                            : std::max<std::size_t>(1, static_cast<std::size_t>(std::max(1, options.threads)) * 3 / 4);
  }
};

/// POST /api/recommend, /api/complete, GET /api/items[/{id}], /api/outfits/{id}, /api/categories,
/// /api/model.
void add_api_routes(httplib::Server& http, ServerState& state);
/// GET /images/items/{id}, /images/outfits/{id}, /images/model/{name}.
void add_image_routes(httplib::Server& http, ServerState& state);
/// GET / and the embedded web assets, /healthz, /metrics.
void add_site_routes(httplib::Server& http, ServerState& state);

/// The catalog id captured by a route's first regex group ("\\d{1,18}"); kNotFound if it overflows.
std::int64_t id_from_match(const httplib::Request& req);

/// Sets a JSON body (compact) with status 200 unless `status` says otherwise.
void reply_json(httplib::Response& res, const std::string& json_text, int status = 200);

}  // namespace mystyle::server
