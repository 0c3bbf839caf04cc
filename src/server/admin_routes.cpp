// The admin API: live edits of the catalog a running server serves (docs/api.md, "Admin API").
// Every request must carry `Authorization: Bearer <token>` matching ServerOptions::admin_token;
// without a configured token the API is off (403). An edit is written to the workspace (so a
// restart serves the same) and served before the answer: the item added is recommended, the item
// deleted is gone, by the time the client has the answer. The server applies an edit in place
// (milliseconds, docs/live-edits.md) and reopens the workspace only when it cannot.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "json_views.h"
#include "mystyle/catalog/colour_family.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/catalog_edits.h"
#include "mystyle/server/http_error.h"
#include "request_parsing.h"
#include "routes.h"

namespace mystyle::server {
namespace {

/// Compares without an early exit, so the time taken does not tell how much of a guess was right.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

void require_admin(const httplib::Request& req, httplib::Response& res, const ServerState& state) {
  if (state.options.admin_token.empty()) {
    throw HttpError(403,
                    "the admin API is off: start `mystyle serve` with --admin-token TOKEN "
                    "(or MYSTYLE_ADMIN_TOKEN in its environment)");
  }
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0 ||
      !same_secret(std::string_view(header).substr(kBearer.size()), state.options.admin_token)) {
    res.set_header("WWW-Authenticate", "Bearer realm=\"mystyle admin\"");
    throw HttpError(401, header.empty() ? "the admin API needs `Authorization: Bearer <token>`"
                                        : "wrong admin token");
  }
}

engine::CatalogWriter& writer(ServerState& state) {
  if (!state.options.writer) {
    engine::CatalogEditOptions o;
    o.model = state.config.model;
    o.pooling = state.config.pooling;
    o.limits = state.config.limits;
    state.options.writer = std::make_shared<engine::WorkspaceWriter>(state.workspace, o);
  }
  return *state.options.writer;
}

std::string required_field(const httplib::Request& req, const std::string& key) {
  auto value = param(req, key);
  if (!value || value->empty()) throw Error(fmt::format("field '{}' is required", key), ErrorKind::kInvalidInput);
  if (value->size() > 1000) throw Error(fmt::format("field '{}' is longer than 1000 bytes", key), ErrorKind::kInvalidInput);
  return *value;
}

std::string optional_field(const httplib::Request& req, const std::string& key) {
  auto value = param(req, key).value_or("");
  if (value.size() > 1000) throw Error(fmt::format("field '{}' is longer than 1000 bytes", key), ErrorKind::kInvalidInput);
  return value;
}

/// After an edit: the server serves it before the client hears back, in place when it can (milliseconds),
/// else by reopening the workspace. A failed reopen is a 500 that says the edit is stored and will be
/// served by the next successful reload.
void serve_edit(ServerState& state, const engine::RecommenderEdits& edits, const WorkspaceStamp& before,
                const char* what) {
  if (apply_edits_locked(state, edits, before, what)) return;
  if (!reload_locked(state, what)) {
    throw Error(fmt::format("the edit is stored, but reopening the workspace failed (the server still serves "
                            "the previous state): {}",
                            state.last_reload_error),
                ErrorKind::kIo);
  }
}

}  // namespace

/// POST /api/items: multipart form with the photo in field `image` and the item's fields.
void add_item(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  require_admin(req, res, state);
  if (!req.is_multipart_form_data())
    throw Error("POST /api/items takes a multipart form: the photo in field 'image' and the item's fields",
                ErrorKind::kInvalidInput);
  const Upload photo = read_upload(req, state.options.max_upload_bytes);
  catalog::Item item;
  item.source = optional_field(req, "source");
  if (item.source.empty()) item.source = "admin";
  item.source_id = required_field(req, "source_id");
  item.name = optional_field(req, "name");
  item.category = required_field(req, "category");
  item.family = optional_field(req, "family");
  item.type = optional_field(req, "type");
  item.colour = optional_field(req, "colour");
  item.colour_name = optional_field(req, "colour_name");
  if (const std::string family = optional_field(req, "colour_family"); !family.empty()) {
    const auto parsed = catalog::parse_colour_family(family);
    if (!parsed) {
      throw Error(
          fmt::format("field 'colour_family': unknown colour family '{}' (known: {}; or leave it out to "
                      "read it from colour_name)",
                      family, catalog::colour_family_list()),
          ErrorKind::kInvalidInput);
    }
    item.colour_family = *parsed;
  } else {
    item.colour_family = catalog::derived_colour_family(item.colour_name, item.colour);
  }
  item.shop_url = optional_field(req, "shop_url");
  const std::string slot = optional_field(req, "slot");
  item.slot = slot.empty() ? catalog::natural_slot(item.category, item.family, item.type)
                           : parse_slot_param(slot, "slot");

  std::lock_guard lock(state.reload_mutex);
  const WorkspaceStamp before = take_workspace_stamp(state);
  const engine::AddedItem added = writer(state).add_item(item, photo.bytes);
  spdlog::info("admin: added item {} ({}/{}) in {:.2f} s", added.item.id, added.item.source, added.item.source_id,
               added.seconds);
  serve_edit(state, writer(state).take_edits(), before, "an item was added");
  nlohmann::json doc = engine::item_json(added.item);
  doc["indexed"] = state.snapshot()->recommender->graph().item(added.item.id) != nullptr;
  res.set_header("Location", fmt::format("/api/items/{}", added.item.id));
  reply_json(res, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 201);
}

void delete_item(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  require_admin(req, res, state);
  const std::int64_t id = id_from_match(req);
  std::lock_guard lock(state.reload_mutex);
  const WorkspaceStamp before = take_workspace_stamp(state);
  if (!writer(state).remove_item(id))
    throw Error(fmt::format("no item with id {}", id), ErrorKind::kNotFound);
  spdlog::info("admin: deleted item {}", id);
  serve_edit(state, writer(state).take_edits(), before, "an item was deleted");
  res.status = 204;
}

/// POST /api/outfits: {"source_id": "...", "source": "admin", "members": [{"item_id": 1, "slot": "bottom"}, ...]}.
void add_outfit(const httplib::Request& req, httplib::Response& res, ServerState& state) {
  require_admin(req, res, state);
  const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    throw Error("POST /api/outfits takes a JSON object: {\"source_id\": ..., \"members\": [{\"item_id\": ...}, ...]}",
                ErrorKind::kInvalidInput);
  auto text = [&](const char* key, bool required) -> std::string {
    if (!body.contains(key) || body[key].is_null()) {
      if (required) throw Error(fmt::format("field '{}' is required", key), ErrorKind::kInvalidInput);
      return "";
    }
    if (!body[key].is_string() || body[key].get_ref<const std::string&>().size() > 1000)
      throw Error(fmt::format("field '{}' must be a string of at most 1000 bytes", key), ErrorKind::kInvalidInput);
    return body[key].get<std::string>();
  };
  catalog::Outfit outfit;
  outfit.source = text("source", false);
  if (outfit.source.empty()) outfit.source = "admin";
  outfit.source_id = text("source_id", true);
  if (outfit.source_id.empty()) throw Error("field 'source_id' is empty", ErrorKind::kInvalidInput);
  if (!body.contains("members") || !body["members"].is_array() || body["members"].size() > 50)
    throw Error("field 'members' must be an array of at most 50 pieces", ErrorKind::kInvalidInput);
  const auto snap = state.snapshot();
  for (std::size_t i = 0; i < body["members"].size(); ++i) {
    const auto& m = body["members"][i];
    if (!m.is_object() || !m.contains("item_id") || !m["item_id"].is_number_integer())
      throw Error(fmt::format("members[{}]: needs an integer item_id", i), ErrorKind::kInvalidInput);
    catalog::OutfitMember member;
    member.item_id = m["item_id"].get<std::int64_t>();
    if (m.contains("slot") && !m["slot"].is_null()) {
      if (!m["slot"].is_string()) throw Error(fmt::format("members[{}].slot must be a string", i), ErrorKind::kInvalidInput);
      member.slot = parse_slot_param(m["slot"].get<std::string>(), fmt::format("members[{}].slot", i));
    } else if (const catalog::Item* item = snap->recommender->graph().item(member.item_id)) {
      member.slot = item->slot;
    }
    outfit.members.push_back(member);
  }
  std::lock_guard lock(state.reload_mutex);
  const WorkspaceStamp before = take_workspace_stamp(state);
  const catalog::Outfit added = writer(state).add_outfit(outfit);
  spdlog::info("admin: added outfit {} ({}/{}) of {} pieces", added.id, added.source, added.source_id,
               added.members.size());
  serve_edit(state, writer(state).take_edits(), before, "an outfit was added");
  const auto now = state.snapshot();
  res.set_header("Location", fmt::format("/api/outfits/{}", added.id));
  reply_json(res,
             outfit_json(*now->recommender->graph().outfit(added.id), now->recommender->graph())
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
             201);
}

}  // namespace mystyle::server
