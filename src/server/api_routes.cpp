// The JSON API: recommendation, complete the look, catalog browsing (an item in other colours too),
// categories and the model's report.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "json_views.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/item_index.h"
#include "mystyle/engine/other_colours.h"
#include "mystyle/server/http_error.h"
#include "request_parsing.h"
#include "routes.h"

namespace mystyle::server {
namespace {

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

/// Runs a photo query's work on the photo queue (in arrival order, on a worker sized to the cores);
/// when it cannot start within the wait budget, 503 with Retry-After.
void run_photo_query(ServerState& state, httplib::Response& res, std::function<void()> work) {
  if (const auto refusal = state.photo_queue.run(std::move(work))) {
    res.set_header("Retry-After", std::to_string(refusal->retry_after_s));
    throw HttpError(503, refusal->reason);
  }
}

/// Whether POST /api/complete is served, and what its model learned from (else why not).
nlohmann::json complete_status(const Snapshot& snap) {
  if (!snap.completer) {
    return {{"available", false}, {"reason", snap.completer_unavailable}, {"model", nullptr}};
  }
  const nlohmann::json& d = snap.completer->description();
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

}  // namespace

void recommend_photo(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const auto snap = state.snapshot();  // the whole request works on one version of the workspace
  engine::Recommender& rec = *snap->recommender;
  const engine::RecommendRequest request = parse_recommend_request(req, rec.categories());
  engine::PieceChoice choice;
  if (auto v = param(req, "piece"); v && !v->empty()) choice = parse_piece_param(*v);
  const Upload upload = read_upload(req, state.options.max_upload_bytes);
  std::string body;
  run_photo_query(state, res, [&] {
    const engine::PiecesResult result =
        on_photo([&] { return snap->pieces->find(bytes_of(upload), upload.name, request, choice); });
    body = snap->pieces->to_json(result, request, /*include_images=*/true)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  reply_json(res, body);
}

void complete_photo(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  // The feature itself is missing, whatever the request: say so before judging the request.
  const auto snap = state.snapshot();
  if (!snap->completer) throw HttpError(503, snap->completer_unavailable);
  const engine::CompleteRequest request = parse_complete_request(req, snap->recommender->categories());
  const Upload upload = read_upload(req, state.options.max_upload_bytes);
  std::string body;
  run_photo_query(state, res, [&] {
    const engine::CompleteResponse response = on_photo(
        [&] { return snap->completer->complete(bytes_of(upload), upload.name, request, snap->pieces.get()); });
    body = snap->completer->to_json(response, request).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  reply_json(res, body);
}

void list_items(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const auto snap = state.snapshot();
  const engine::Recommender& rec = *snap->recommender;
  const ItemsQuery query = parse_items_query(req, rec.categories());
  const std::string& q = query.text_lower;
  const std::int64_t per_page = query.per_page;

  nlohmann::json items = nlohmann::json::array();
  std::int64_t total = 0;
  const std::int64_t first = (query.page - 1) * per_page;
  for (const catalog::Item& item : rec.graph().items()) {
    if (query.category && item.category != *query.category) continue;
    if (query.slot && item.slot != *query.slot) continue;
    if (!q.empty() && !contains_folded(item.name, q) && !contains_folded(item.type, q) &&
        !contains_folded(item.source_id, q) && !contains_folded(item.family, q) &&
        !contains_folded(item.colour, q) && !contains_folded(item.colour_name, q) &&
        !contains_folded(item.colour_family, q)) {
      continue;
    }
    if (total >= first && total < first + per_page) items.push_back(item_json(item));
    ++total;
  }
  reply_json(res, nlohmann::json{{"items", std::move(items)},
                                 {"total", total},
                                 {"page", query.page},
                                 {"per_page", per_page},
                                 {"pages", (total + per_page - 1) / per_page}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void get_item(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const auto snap = state.snapshot();
  const auto& graph = snap->recommender->graph();
  const std::int64_t id = id_from_match(req);
  const catalog::Item* item = graph.item(id);
  if (item == nullptr) throw Error(fmt::format("no item with id {}", id), ErrorKind::kNotFound);
  nlohmann::json doc = item_json(*item);
  const auto outfits = graph.outfits_of(id);
  doc["outfit_ids"] = std::vector<std::int64_t>(outfits.begin(), outfits.end());
  reply_json(res, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void get_item_colours(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const auto snap = state.snapshot();
  const engine::OtherColoursRequest request = parse_other_colours_request(req);
  const engine::OtherColours found = engine::find_other_colours(*snap->recommender, id_from_match(req), request);
  reply_json(res, engine::other_colours_json(found, request)
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void get_outfit(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  const auto snap = state.snapshot();
  const auto& graph = snap->recommender->graph();
  const std::int64_t id = id_from_match(req);
  const catalog::Outfit* outfit = graph.outfit(id);
  if (outfit == nullptr) throw Error(fmt::format("no outfit with id {}", id), ErrorKind::kNotFound);
  reply_json(res, outfit_json(*outfit, graph).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void list_categories(const httplib::Request&, httplib::Response& res, ServerState& state) {
  const auto snap = state.snapshot();
  const auto& rec = *snap->recommender;
  std::map<std::string, std::int64_t> counts;
  for (const auto& item : rec.graph().items()) ++counts[item.category];
  nlohmann::json categories = nlohmann::json::array();
  for (const auto& name : rec.categories()) categories.push_back({{"name", name}, {"items", counts[name]}});
  nlohmann::json slots = nlohmann::json::array();
  for (const auto s : catalog::kAllSlots) slots.push_back(catalog::slot_name(s));
  reply_json(res, nlohmann::json{{"categories", std::move(categories)}, {"slots", std::move(slots)}}.dump(
                      -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void describe_model(const httplib::Request&, httplib::Response& res, ServerState& state) {
  const auto snap = state.snapshot();
  const auto& rec = *snap->recommender;
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
  for (const char* kind : {"retrieval", "outfits", "robustness", "transfer", "probe"}) {
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
                                 {"complete", complete_status(*snap)}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void reply_json(httplib::Response& res, const std::string& json_text, int status) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(json_text, "application/json");
}

}  // namespace mystyle::server
