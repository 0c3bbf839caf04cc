#include "mystyle/recommend/outfit_graph.h"

#include <algorithm>

namespace mystyle::recommend {

OutfitGraph OutfitGraph::load(catalog::Catalog& catalog) {
  OutfitGraph graph;
  graph.items_ = catalog.all_items();
  // Sized up front: at a million items, growing these maps rehashes them about twenty times each.
  graph.item_index_.reserve(graph.items_.size());
  graph.outfits_of_item_.reserve(graph.items_.size());
  for (std::size_t i = 0; i < graph.items_.size(); ++i) graph.item_index_.emplace(graph.items_[i].id, i);

  auto outfits = catalog.db().prepare("SELECT id, source, source_id, photo_path FROM outfits ORDER BY id");
  while (outfits.step()) {
    catalog::Outfit o;
    o.id = outfits.column_int64(0);
    o.source = outfits.column_text(1);
    o.source_id = outfits.column_text(2);
    o.photo_path = outfits.column_optional_text(3);
    graph.outfit_index_.emplace(o.id, graph.outfits_.size());
    graph.outfits_.push_back(std::move(o));
  }
  auto members = catalog.db().prepare("SELECT outfit_id, item_id, slot FROM outfit_items ORDER BY outfit_id, position");
  while (members.step()) {
    const std::int64_t outfit_id = members.column_int64(0), item_id = members.column_int64(1);
    const auto slot = catalog::parse_slot(members.column_text(2)).value_or(catalog::Slot::kOther);
    graph.outfits_[graph.outfit_index_.at(outfit_id)].members.push_back({item_id, slot});
    auto& list = graph.outfits_of_item_[item_id];
    if (list.empty() || list.back() != outfit_id) list.push_back(outfit_id);
  }
  return graph;
}

const catalog::Item* OutfitGraph::item(std::int64_t item_id) const {
  auto it = item_index_.find(item_id);
  return it == item_index_.end() ? nullptr : &items_[it->second];
}

const catalog::Outfit* OutfitGraph::outfit(std::int64_t outfit_id) const {
  auto it = outfit_index_.find(outfit_id);
  return it == outfit_index_.end() ? nullptr : &outfits_[it->second];
}

std::span<const std::int64_t> OutfitGraph::outfits_of(std::int64_t item_id) const {
  auto it = outfits_of_item_.find(item_id);
  if (it == outfits_of_item_.end()) return {};
  return it->second;
}

}  // namespace mystyle::recommend
