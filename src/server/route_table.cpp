// The one table of the server's routes: registered with httplib from it, and labelled in /metrics
// from it, so a route added here is both served and counted under its own label.
#include <regex>
#include <string>
#include <vector>

#include "mystyle/server/metrics.h"
#include "mystyle/server/web_assets.h"
#include "routes.h"

namespace mystyle::server {
namespace {

bool is_web_asset(std::string_view name) {
  return find_web_asset(name) != nullptr;
}

// In the order httplib tries them, per method: the first whose pattern matches the whole path serves
// the request (the asset route comes after "/healthz" and "/metrics", which its pattern matches too).
constexpr Route kRoutes[] = {
    // The web app, the health check, the metrics (docs/api.md, "Operations").
    {Method::kGet, "/healthz", "/healthz", serve_health},
    {Method::kGet, "/metrics", "/metrics", serve_metrics},
    {Method::kGet, "/", "/", serve_index},
    {Method::kGet, R"(/([A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}))", "/{asset}", serve_web_asset, is_web_asset},
    // The JSON API.
    {Method::kPost, "/api/recommend", "/api/recommend", recommend_photo},
    {Method::kPost, "/api/complete", "/api/complete", complete_photo},
    {Method::kGet, "/api/items", "/api/items", list_items},
    {Method::kGet, R"(/api/items/(\d{1,18}))", "/api/items/{id}", get_item},
    {Method::kGet, R"(/api/outfits/(\d{1,18}))", "/api/outfits/{id}", get_outfit},
    {Method::kGet, "/api/categories", "/api/categories", list_categories},
    {Method::kGet, "/api/model", "/api/model", describe_model},
    // The admin API (docs/api.md, "Admin API").
    {Method::kPost, "/api/items", "/api/items", add_item},
    {Method::kDelete, R"(/api/items/(\d{1,18}))", "/api/items/{id}", delete_item},
    {Method::kPost, "/api/outfits", "/api/outfits", add_outfit},
    // Pictures.
    {Method::kGet, R"(/images/items/(\d{1,18}))", "/images/items/{id}", item_thumbnail},
    {Method::kGet, R"(/images/outfits/(\d{1,18}))", "/images/outfits/{id}", outfit_photo},
    {Method::kGet, R"(/images/model/([a-z_]{1,40}\.png))", "/images/model/{name}", model_image,
     is_model_image},
};

}  // namespace

std::span<const Route> route_table() {
  return kRoutes;
}

void register_routes(httplib::Server& http, ServerState& state) {
  for (const Route& route : kRoutes) {
    httplib::Server::Handler handler = [&state, serve = route.handler](const httplib::Request& req,
                                                                       httplib::Response& res) {
      serve(req, res, state);
    };
    const std::string pattern(route.pattern);
    switch (route.method) {
      case Method::kGet:
        http.Get(pattern, std::move(handler));
        break;
      case Method::kPost:
        http.Post(pattern, std::move(handler));
        break;
      case Method::kDelete:
        http.Delete(pattern, std::move(handler));
        break;
    }
  }
}

const Route* find_route(std::string_view path) {
  // Compiled once, as httplib compiles them (std::regex, matched against the whole path).
  static const std::vector<std::regex> patterns = [] {
    std::vector<std::regex> out;
    for (const Route& route : kRoutes) out.emplace_back(std::string(route.pattern));
    return out;
  }();
  std::match_results<std::string_view::const_iterator> match;
  for (std::size_t i = 0; i < std::size(kRoutes); ++i) {
    const Route& route = kRoutes[i];
    if (!std::regex_match(path.begin(), path.end(), match, patterns[i])) continue;
    if (route.labels_name == nullptr || route.labels_name(match[1].str())) return &route;
  }
  return nullptr;
}

// metrics.h: the labels come from this table, the same one the routes are served from.
std::string route_label(std::string_view path) {
  const Route* route = find_route(path);
  return route != nullptr ? std::string(route->label) : "other";
}

}  // namespace mystyle::server
