// The one table of the server's routes: registered with httplib from it, and labelled in /metrics
// from it, so a route added here is both served and counted under its own label.
#include <fmt/format.h>

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "mystyle/server/http_error.h"
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
    {Method::kPost, "/api/recommend", "/api/recommend", recommend_photo, nullptr, /*photo_query=*/true},
    {Method::kPost, "/api/complete", "/api/complete", complete_photo, nullptr, /*photo_query=*/true},
    {Method::kGet, "/api/items", "/api/items", list_items},
    {Method::kGet, R"(/api/items/(\d{1,18}))", "/api/items/{id}", get_item},
    {Method::kGet, R"(/api/items/(\d{1,18})/colours)", "/api/items/{id}/colours", get_item_colours},
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

/// The upload bytes a photo query holds while it is answered (by its Content-Length).
class UploadReservation {
 public:
  UploadReservation(ServerState& state, std::size_t bytes) : state_(state), bytes_(bytes) {
    const std::size_t before = state_.upload_bytes.fetch_add(bytes_);
    // One upload alone is always admitted (its size is limited by max_upload_bytes).
    admitted_ = before == 0 || before + bytes_ <= state_.options.max_upload_memory_bytes;
  }
  ~UploadReservation() { state_.upload_bytes.fetch_sub(bytes_); }
  UploadReservation(const UploadReservation&) = delete;
  UploadReservation& operator=(const UploadReservation&) = delete;
  bool admitted() const { return admitted_; }

 private:
  ServerState& state_;
  std::size_t bytes_;
  bool admitted_ = false;
};

/// Reads the body as cpp-httplib would have before calling a handler: multipart parts into
/// `into->files`, else the bytes into `into->body`; with `into` null, reads and drops it. False when
/// the body could not be read (res.status says why, 413 when over the payload limit).
bool read_body(const httplib::Request& req, const httplib::ContentReader& read, httplib::Request* into) {
  if (req.is_multipart_form_data()) {
    std::vector<httplib::MultipartFormData> parts;
    const bool ok = read(
        [&](const httplib::MultipartFormData& part) {
          if (into != nullptr) parts.push_back(part);
          return true;
        },
        [&](const char* data, std::size_t n) {
          if (into != nullptr && !parts.empty()) parts.back().content.append(data, n);
          return true;
        });
    if (into != nullptr) {
      for (auto& part : parts) into->files.emplace(part.name, std::move(part));
    }
    return ok;
  }
  return read([&](const char* data, std::size_t n) {
    if (into != nullptr) into->body.append(data, n);
    return true;
  });
}

/// A photo route (Route::photo_query), called by cpp-httplib before the body is read: admission
/// first; then the body is read into a copy of the request, which the route's handler gets as if
/// cpp-httplib had read it (multipart parts in `files`, else `body`).
void serve_photo_query(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read,
                       ServerState& state, RouteHandler serve) {
  const std::size_t length = static_cast<std::size_t>(req.get_header_value<std::uint64_t>("Content-Length"));
  const UploadReservation reservation(state, length);
  std::optional<PhotoRefusal> refusal;
  // "Complete the look" without its model is answered by its handler (503 saying why), whatever the load.
  if (req.path != "/api/complete" || state.snapshot()->completer) refusal = state.photo_queue.admission();
  if (!refusal && !reservation.admitted()) {
    refusal = PhotoRefusal{1, fmt::format("busy: {} MB of photo uploads are being answered; retry in a second",
                                          state.options.max_upload_memory_bytes >> 20)};
  }
  // A refused upload is read and dropped, so the connection stays in step for its next request (a
  // client still sending its upload would otherwise see its connection fail instead of this answer).
  httplib::Request full = req;
  if (!read_body(req, read, refusal ? nullptr : &full)) {
    if (res.status == 413) {
      throw HttpError(413, fmt::format("request body over the limit ({} bytes of photo)", state.options.max_upload_bytes));
    }
    throw HttpError(400, "malformed request body");
  }
  if (refusal) {
    res.set_header("Retry-After", std::to_string(refusal->retry_after_s));
    throw HttpError(503, refusal->reason);
  }
  serve(full, res, state);
}

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
        if (route.photo_query) {
          http.Post(pattern, [&state, serve = route.handler](const httplib::Request& req, httplib::Response& res,
                                                             const httplib::ContentReader& read) {
            serve_photo_query(req, res, read, state, serve);
          });
        } else {
          http.Post(pattern, std::move(handler));
        }
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
