#include "mystyle/engine/other_colours.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/colour_query.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/index/id_filter.h"

namespace mystyle::engine {
namespace {

/// The ids the index holds for `items`: the items' own, or each item's views.
index::IdFilter allow(const std::vector<std::int64_t>& items, int views_per_item) {
  std::vector<std::int64_t> ids;
  ids.reserve(items.size() * static_cast<std::size_t>(views_per_item));
  for (const std::int64_t id : items) {
    if (views_per_item == 1) {
      ids.push_back(id);
      continue;
    }
    for (int v = 0; v < views_per_item; ++v) ids.push_back(view_id(id, v));
  }
  return index::IdFilter::allow_only(std::move(ids));
}

/// The best `k` of `items` for the asked item's embedding `query`, best first (cosine; an item
/// scores as its closest view).
std::vector<index::Neighbor> rank(const Recommender& rec, std::span<const float> query,
                                  const std::vector<std::int64_t>& items, std::size_t k) {
  if (items.empty() || query.empty() || k == 0) return {};
  const int views = rec.views_per_item();
  const index::IdFilter filter = allow(items, views);
  index::SearchParams params;
  params.metric = index::Metric::kCosine;
  params.filter = &filter;
  std::vector<index::Neighbor> found = rec.index().search(query, k * static_cast<std::size_t>(views), params);
  return views > 1 ? fold_views(found, k) : found;
}

nlohmann::json score_json(const std::optional<double>& score) {
  return score ? nlohmann::json(*score) : nlohmann::json(nullptr);
}

}  // namespace

void OtherColoursRequest::validate() const {
  if (k == 0 || k > kMaxK) {
    throw Error(fmt::format("k must be between 1 and {}, not {}", kMaxK, k), ErrorKind::kInvalidInput);
  }
  if (colour_family) require_colour_family(*colour_family, "colour");
}

OtherColours find_other_colours(const Recommender& rec, std::int64_t item_id,
                                const OtherColoursRequest& request) {
  request.validate();
  const recommend::OutfitGraph& graph = rec.graph();
  OtherColours out;
  out.item = graph.item(item_id);
  if (out.item == nullptr) throw Error(fmt::format("no item with id {}", item_id), ErrorKind::kNotFound);
  const catalog::Item& asked = *out.item;
  const std::string design = catalog::design_of(asked.source_id);
  const std::span<const float> query = rec.item_embedding(item_id);

  std::vector<std::int64_t> same, near;
  for (const catalog::Item& item : graph.items()) {
    if (item.id == asked.id) continue;
    if (item.source == asked.source && catalog::design_of(item.source_id) == design) {
      same.push_back(item.id);
      continue;
    }
    const bool same_type = asked.type.empty() ? item.slot == asked.slot : item.type == asked.type;
    if (!same_type) continue;
    const bool wanted = request.colour_family
                            ? item.colour_family == *request.colour_family
                            : !item.colour_family.empty() && item.colour_family != asked.colour_family;
    if (wanted) near.push_back(item.id);
  }

  // The design's items: ranked when they can be, the rest (no photo, or not embedded) after them.
  const std::vector<index::Neighbor> ranked = rank(rec, query, same, same.size());
  for (const index::Neighbor& n : ranked) out.same_design.push_back({graph.item(n.id), n.score});
  for (const std::int64_t id : same) {  // in the catalog's order
    if (std::ranges::find(ranked, id, &index::Neighbor::id) == ranked.end())
      out.same_design.push_back({graph.item(id), std::nullopt});
  }
  for (const index::Neighbor& n : rank(rec, query, near, request.k)) {
    if (const catalog::Item* item = graph.item(n.id)) out.nearest.push_back({item, n.score});
  }
  return out;
}

nlohmann::json other_colours_json(const OtherColours& found, const OtherColoursRequest& request) {
  nlohmann::json same = nlohmann::json::array();
  for (const ColourMatch& m : found.same_design) {
    nlohmann::json j = item_json(*m.item);
    j["score"] = score_json(m.score);
    same.push_back(std::move(j));
  }
  nlohmann::json nearest = nlohmann::json::array();
  for (std::size_t i = 0; i < found.nearest.size(); ++i) {
    nlohmann::json j = item_json(*found.nearest[i].item);
    j["rank"] = i + 1;
    j["score"] = score_json(found.nearest[i].score);
    nearest.push_back(std::move(j));
  }
  return {
      {"item", item_json(*found.item)},
      {"colour", request.colour_family ? nlohmann::json(*request.colour_family) : nlohmann::json(nullptr)},
      {"k", request.k},
      {"metric", "cosine"},
      {"same_design", std::move(same)},
      {"nearest", std::move(nearest)}};
}

}  // namespace mystyle::engine
