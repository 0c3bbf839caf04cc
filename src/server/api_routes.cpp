// The JSON API: recommendation, complete the look, catalog browsing, categories and the model's report.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string>

#include "json_views.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/item_index.h"
#include "mystyle/server/http_error.h"
#include "routes.h"

namespace mystyle::server {
namespace {

constexpr std::size_t kMaxK = 200;
constexpr std::size_t kMaxOutfits = 100;
constexpr std::int64_t kMaxPerPage = 100;
constexpr std::size_t kMaxNameChars = 200;
// Completer::complete's own bounds, checked here so that the error names the parameter.
constexpr std::int64_t kMaxCompleteOutfits = 20;
constexpr std::int64_t kMaxPerSlot = 50;

/// A parameter from the query string or, for multipart forms, a non-file form field.
std::optional<std::string> param(const httplib::Request& req, const std::string& key) {
  if (req.has_param(key)) return req.get_param_value(key);
  if (req.is_multipart_form_data() && req.has_file(key)) {
    const auto field = req.get_file_value(key);
    if (field.filename.empty()) return field.content;
  }
  return std::nullopt;
}

std::int64_t parse_integer(const std::string& text, const std::string& name, std::int64_t min,
                           std::int64_t max) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw Error(
        fmt::format("parameter '{}' must be a whole number from {} to {}, not '{}'", name, min, max, text));
  }
  return value;
}

bool parse_bool(const std::string& text, const std::string& name) {
  std::string t = text;
  std::ranges::transform(t, t.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (t == "1" || t == "true" || t == "on" || t == "yes") return true;
  if (t == "0" || t == "false" || t == "off" || t == "no" || t.empty()) return false;
  throw Error(fmt::format("parameter '{}' must be true or false, not '{}'", name, text));
}

void require_known_category(const engine::Recommender& rec, const std::string& category) {
  if (!std::ranges::binary_search(rec.categories(), category)) {
    throw Error(fmt::format("unknown category '{}' (GET /api/categories lists them)", category));
  }
}

/// A slot name from parameter `name`; the error lists the known slots.
catalog::Slot parse_slot_param(const std::string& text, const std::string& name) {
  if (const auto slot = catalog::parse_slot(text)) return *slot;
  std::string known;
  for (const auto s : catalog::kAllSlots)
    known += (known.empty() ? "" : ", ") + std::string(catalog::slot_name(s));
  throw Error(fmt::format("parameter '{}': unknown slot '{}' (known: {})", name, text, known));
}

engine::RecommendRequest parse_recommend_request(const httplib::Request& req,
                                                 const engine::Recommender& rec) {
  engine::RecommendRequest r;
  if (auto v = param(req, "metric")) r.metric = index::parse_metric(*v);
  if (auto v = param(req, "k")) r.k = static_cast<std::size_t>(parse_integer(*v, "k", 1, kMaxK));
  if (auto v = param(req, "outfits"))
    r.max_outfits = static_cast<std::size_t>(parse_integer(*v, "outfits", 0, kMaxOutfits));
  if (auto v = param(req, "mode")) {
    if (*v == "ranked") {
      r.mode = recommend::CoordinationMode::kRanked;
    } else if (*v == "seed") {
      r.mode = recommend::CoordinationMode::kSeed;
    } else {
      throw Error(fmt::format("parameter 'mode' must be ranked or seed, not '{}'", *v));
    }
  }
  if (auto v = param(req, "category"); v && !v->empty()) {
    require_known_category(rec, *v);
    r.category = *v;
  }
  if (auto v = param(req, "same_slot")) r.same_slot = parse_bool(*v, "same_slot");
  if (auto v = param(req, "slot"); v && !v->empty()) {
    r.slot = catalog::parse_slot(*v);
    if (!r.slot) throw Error(fmt::format("unknown slot '{}'", *v));
  }
  return r;
}

engine::CompleteRequest parse_complete_request(const httplib::Request& req, const engine::Recommender& rec) {
  engine::CompleteRequest r;
  if (auto v = param(req, "slots")) {
    std::stringstream list(*v);
    for (std::string name; std::getline(list, name, ',');) {
      if (!name.empty()) r.slots.push_back(parse_slot_param(name, "slots"));
    }
  }
  if (auto v = param(req, "outfits"))
    r.outfits = static_cast<std::size_t>(parse_integer(*v, "outfits", 0, kMaxCompleteOutfits));
  if (auto v = param(req, "per_slot"))
    r.per_slot = static_cast<std::size_t>(parse_integer(*v, "per_slot", 1, kMaxPerSlot));
  if (auto v = param(req, "category"); v && !v->empty()) {
    require_known_category(rec, *v);
    r.category = *v;
  }
  if (auto v = param(req, "slot"); v && !v->empty()) r.slot = parse_slot_param(*v, "slot");
  return r;
}

struct Upload {
  std::string bytes;
  std::string name;
};

Upload read_upload(const httplib::Request& req, std::size_t max_bytes) {
  Upload up;
  if (req.is_multipart_form_data()) {
    if (!req.has_file("image"))
      throw Error("no form field 'image': send the photo as multipart field 'image'");
    auto file = req.get_file_value("image");
    up.bytes = std::move(file.content);
    up.name = file.filename.empty() ? "upload" : file.filename;
  } else {
    const std::string type = req.get_header_value("Content-Type");
    if (type.starts_with("application/x-www-form-urlencoded")) {
      throw Error("send the photo as multipart/form-data (field 'image') or as the raw request body");
    }
    if (req.body.empty()) {
      throw Error("empty request: send the photo as multipart field 'image' or as the raw request body");
    }
    up.bytes = req.body;
    up.name = param(req, "name").value_or("upload");
  }
  if (up.name.size() > kMaxNameChars) up.name.resize(kMaxNameChars);
  if (up.bytes.size() > max_bytes) {
    throw Error(
        fmt::format("{}: {} bytes is over the {} byte upload limit", up.name, up.bytes.size(), max_bytes),
        ErrorKind::kTooLarge);
  }
  return up;
}

/// Runs `query` on an upload whose parameters were already checked: bad input there is the image
/// itself (well-formed HTTP, unprocessable content), so kInvalidInput becomes 422.
template <typename Query>
auto on_photo(Query&& query) {
  try {
    return query();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kInvalidInput) throw HttpError(422, e.what());
    throw;
  }
}

std::span<const std::uint8_t> bytes_of(const Upload& upload) {
  return {reinterpret_cast<const std::uint8_t*>(upload.bytes.data()), upload.bytes.size()};
}

/// Admission to photo work: while it lives, one of ServerState::photo_query_limit places is taken.
/// Over the limit the request is refused at once with 503 and Retry-After, before reading the photo.
class PhotoQueryTicket {
 public:
  PhotoQueryTicket(ServerState& state, httplib::Response& res) : state_(state) {
    if (state_.photo_queries.fetch_add(1) >= state_.photo_query_limit) {
      state_.photo_queries.fetch_sub(1);
      res.set_header("Retry-After", "1");
      throw HttpError(503, fmt::format("busy: {} photo queries are already being answered; retry in a second",
                                       state_.photo_query_limit));
    }
  }
  ~PhotoQueryTicket() { state_.photo_queries.fetch_sub(1); }
  PhotoQueryTicket(const PhotoQueryTicket&) = delete;
  PhotoQueryTicket& operator=(const PhotoQueryTicket&) = delete;

 private:
  ServerState& state_;
};

void recommend_photo(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const PhotoQueryTicket ticket(state, res);
  engine::Recommender& rec = *state.recommender;
  const engine::RecommendRequest request = parse_recommend_request(req, rec);
  const Upload upload = read_upload(req, state.options.max_upload_bytes);
  const engine::RecommendResult result =
      on_photo([&] { return rec.recommend(bytes_of(upload), upload.name, request); });
  reply_json(res, rec.to_json(result, request, /*include_seen_image=*/true)
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void complete_photo(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  // The feature itself is missing, whatever the request: say so before judging the request.
  if (!state.completer) throw HttpError(503, state.completer_unavailable);
  const PhotoQueryTicket ticket(state, res);
  const engine::CompleteRequest request = parse_complete_request(req, *state.recommender);
  const Upload upload = read_upload(req, state.options.max_upload_bytes);
  const engine::CompleteResponse response =
      on_photo([&] { return state.completer->complete(bytes_of(upload), upload.name, request); });
  reply_json(res, state.completer->to_json(response, request)
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

/// Whether POST /api/complete is served, and what its model learned from (else why not).
nlohmann::json complete_status(const ServerState& state) {
  if (!state.completer) {
    return {{"available", false}, {"reason", state.completer_unavailable}, {"model", nullptr}};
  }
  const nlohmann::json& d = state.completer->description();
  return {{"available", true},
          {"reason", nullptr},
          {"model",
           {{"name", engine::kCompatModel},
            {"features", d.value("features", std::string())},
            {"outfits_learned_from", d.value("outfits_learned_from", std::int64_t{0})}}}};
}

bool contains_folded(const std::string& haystack, const std::string& needle_lower) {
  const auto it = std::ranges::search(haystack, needle_lower, [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return !it.empty();
}

void list_items(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const engine::Recommender& rec = *state.recommender;
  std::optional<std::string> category = param(req, "category");
  if (category && category->empty()) category.reset();
  if (category) require_known_category(rec, *category);
  std::optional<catalog::Slot> slot;
  if (auto v = param(req, "slot"); v && !v->empty()) {
    slot = catalog::parse_slot(*v);
    if (!slot) throw Error(fmt::format("unknown slot '{}'", *v));
  }
  std::string q = param(req, "q").value_or("");
  std::ranges::transform(q, q.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  const std::int64_t page = param(req, "page") ? parse_integer(*param(req, "page"), "page", 1, 1'000'000) : 1;
  const std::int64_t per_page =
      param(req, "per_page") ? parse_integer(*param(req, "per_page"), "per_page", 1, kMaxPerPage) : 24;

  nlohmann::json items = nlohmann::json::array();
  std::int64_t total = 0;
  const std::int64_t first = (page - 1) * per_page;
  for (const catalog::Item& item : rec.graph().items()) {
    if (category && item.category != *category) continue;
    if (slot && item.slot != *slot) continue;
    if (!q.empty() && !contains_folded(item.name, q) && !contains_folded(item.type, q) &&
        !contains_folded(item.source_id, q) && !contains_folded(item.family, q) &&
        !contains_folded(item.colour, q)) {
      continue;
    }
    if (total >= first && total < first + per_page) items.push_back(item_json(item));
    ++total;
  }
  reply_json(res, nlohmann::json{{"items", std::move(items)},
                                 {"total", total},
                                 {"page", page},
                                 {"per_page", per_page},
                                 {"pages", (total + per_page - 1) / per_page}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void get_item(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const auto& graph = state.recommender->graph();
  const std::int64_t id = id_from_match(req);
  const catalog::Item* item = graph.item(id);
  if (item == nullptr) throw Error(fmt::format("no item with id {}", id), ErrorKind::kNotFound);
  nlohmann::json doc = item_json(*item);
  const auto outfits = graph.outfits_of(id);
  doc["outfit_ids"] = std::vector<std::int64_t>(outfits.begin(), outfits.end());
  reply_json(res, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void get_outfit(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const auto& graph = state.recommender->graph();
  const std::int64_t id = id_from_match(req);
  const catalog::Outfit* outfit = graph.outfit(id);
  if (outfit == nullptr) throw Error(fmt::format("no outfit with id {}", id), ErrorKind::kNotFound);
  reply_json(res, outfit_json(*outfit, graph).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void list_categories(httplib::Response& res, ServerState& state) {
  const auto& rec = *state.recommender;
  std::map<std::string, std::int64_t> counts;
  for (const auto& item : rec.graph().items()) ++counts[item.category];
  nlohmann::json categories = nlohmann::json::array();
  for (const auto& name : rec.categories()) categories.push_back({{"name", name}, {"items", counts[name]}});
  nlohmann::json slots = nlohmann::json::array();
  for (const auto s : catalog::kAllSlots) slots.push_back(catalog::slot_name(s));
  reply_json(res, nlohmann::json{{"categories", std::move(categories)}, {"slots", std::move(slots)}}.dump(
                      -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void describe_model(httplib::Response& res, ServerState& state) {
  const auto& rec = *state.recommender;
  const auto& model = rec.config().model;
  const auto report = state.workspace.report_dir(model);
  nlohmann::json train = nullptr;
  if (std::filesystem::exists(report / "train.json")) {
    train =
        nlohmann::json::parse(read_file_bytes(report / "train.json"), nullptr, /*allow_exceptions=*/false);
    if (train.is_discarded())
      throw Error((report / "train.json").string() + ": not valid JSON", ErrorKind::kCorrupt);
  }
  nlohmann::json images = nlohmann::json::object();
  for (const auto name : kModelImages) {
    const std::string key(name.substr(0, name.size() - 4));  // without ".png"
    const bool present = name == "latent_space.png" || std::filesystem::exists(report / std::string(name));
    images[key] = present ? nlohmann::json("/images/model/" + std::string(name)) : nlohmann::json(nullptr);
  }
  // The latest `mystyle eval` reports, as they were saved (null where that evaluation never ran).
  nlohmann::json evaluation = nlohmann::json::object();
  for (const char* kind : {"retrieval", "outfits", "robustness", "transfer"}) {
    const auto path = state.workspace.root() / "reports" / "eval" / (std::string(kind) + ".json");
    evaluation[kind] = std::filesystem::exists(path)
                           ? nlohmann::json::parse(read_file_bytes(path), nullptr, /*allow_exceptions=*/false)
                           : nlohmann::json(nullptr);
    if (evaluation[kind].is_discarded()) evaluation[kind] = nullptr;
  }
  reply_json(res, nlohmann::json{{"model", model},
                                 {"evaluation", std::move(evaluation)},
                                 {"pooling", engine::pooling_name(rec.config().pooling)},
                                 {"index", engine::index_kind_name(rec.config().index)},
                                 {"embedding_dim", rec.index().dim()},
                                 {"indexed_items", rec.indexed_items()},
                                 {"views_per_item", rec.views_per_item()},
                                 {"catalog_items", rec.graph().items().size()},
                                 {"catalog_outfits", rec.graph().outfits().size()},
                                 {"train", std::move(train)},
                                 {"images", std::move(images)},
                                 {"complete", complete_status(state)}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

void reply_json(httplib::Response& res, const std::string& json_text, int status) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(json_text, "application/json");
}

void add_api_routes(httplib::Server& http, ServerState& state) {
  http.Post("/api/recommend", [&state](const httplib::Request& req, httplib::Response& res) {
    recommend_photo(req, res, state);
  });
  http.Post("/api/complete", [&state](const httplib::Request& req, httplib::Response& res) {
    complete_photo(req, res, state);
  });
  http.Get("/api/items",
           [&state](const httplib::Request& req, httplib::Response& res) { list_items(req, res, state); });
  http.Get(R"(/api/items/(\d{1,18}))",
           [&state](const httplib::Request& req, httplib::Response& res) { get_item(req, res, state); });
  http.Get(R"(/api/outfits/(\d{1,18}))",
           [&state](const httplib::Request& req, httplib::Response& res) { get_outfit(req, res, state); });
  http.Get("/api/categories",
           [&state](const httplib::Request&, httplib::Response& res) { list_categories(res, state); });
  http.Get("/api/model",
           [&state](const httplib::Request&, httplib::Response& res) { describe_model(res, state); });
}

}  // namespace mystyle::server
