#include "mystyle/recommend/outfit_graph.h"

#include <algorithm>

namespace mystyle::recommend {

struct OutfitGraph::Base {
  std::vector<catalog::Item> items;
  std::vector<catalog::Outfit> outfits;
  std::unordered_map<std::int64_t, std::size_t> item_index, outfit_index;
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> outfits_of_item;
};

/// What live edits changed since the base was loaded. Rebuilt (copied, then changed) by each edit;
/// never changed once a graph holds it.
struct OutfitGraph::Overlay {
  std::vector<bool> hidden_items;    ///< per base item row: removed
  std::vector<bool> hidden_outfits;  ///< per base outfit row: removed, or replaced in `outfits`
  std::size_t hidden_item_count = 0, hidden_outfit_count = 0;
  std::vector<catalog::Item> items;      ///< added, ids ascending
  std::vector<catalog::Outfit> outfits;  ///< added or changed, ids ascending
  std::unordered_map<std::int64_t, std::size_t> item_index, outfit_index;
  /// Outfits of `outfits` per item (ids ascending).
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> outfits_of_item;

  void reindex() {
    item_index.clear();
    outfit_index.clear();
    outfits_of_item.clear();
    for (std::size_t i = 0; i < items.size(); ++i) item_index.emplace(items[i].id, i);
    for (std::size_t i = 0; i < outfits.size(); ++i) {
      outfit_index.emplace(outfits[i].id, i);
      for (const auto& m : outfits[i].members) {
        auto& list = outfits_of_item[m.item_id];
        if (list.empty() || list.back() != outfits[i].id) list.push_back(outfits[i].id);
      }
    }
  }
};

OutfitGraph::OutfitGraph() : base_(std::make_shared<Base>()), overlay_(std::make_shared<Overlay>()) {}

OutfitGraph OutfitGraph::load(catalog::Catalog& catalog) {
  auto base = std::make_shared<Base>();
  base->items = catalog.all_items();
  // Sized up front: at a million items, growing these maps rehashes them about twenty times each.
  base->item_index.reserve(base->items.size());
  base->outfits_of_item.reserve(base->items.size());
  for (std::size_t i = 0; i < base->items.size(); ++i) base->item_index.emplace(base->items[i].id, i);

  auto outfits = catalog.db().prepare("SELECT id, source, source_id, photo_path FROM outfits ORDER BY id");
  while (outfits.step()) {
    catalog::Outfit o;
    o.id = outfits.column_int64(0);
    o.source = outfits.column_text(1);
    o.source_id = outfits.column_text(2);
    o.photo_path = outfits.column_optional_text(3);
    base->outfit_index.emplace(o.id, base->outfits.size());
    base->outfits.push_back(std::move(o));
  }
  auto members = catalog.db().prepare("SELECT outfit_id, item_id, slot FROM outfit_items ORDER BY outfit_id, position");
  while (members.step()) {
    const std::int64_t outfit_id = members.column_int64(0), item_id = members.column_int64(1);
    const auto slot = catalog::parse_slot(members.column_text(2)).value_or(catalog::Slot::kOther);
    base->outfits[base->outfit_index.at(outfit_id)].members.push_back({item_id, slot});
    auto& list = base->outfits_of_item[item_id];
    if (list.empty() || list.back() != outfit_id) list.push_back(outfit_id);
  }
  OutfitGraph graph;
  graph.base_ = std::move(base);
  return graph;
}

const catalog::Item* OutfitGraph::item(std::int64_t item_id) const {
  if (!overlay_->items.empty()) {
    if (auto it = overlay_->item_index.find(item_id); it != overlay_->item_index.end()) return &overlay_->items[it->second];
  }
  auto it = base_->item_index.find(item_id);
  if (it == base_->item_index.end()) return nullptr;
  if (overlay_->hidden_item_count != 0 && overlay_->hidden_items[it->second]) return nullptr;
  return &base_->items[it->second];
}

const catalog::Outfit* OutfitGraph::outfit(std::int64_t outfit_id) const {
  if (!overlay_->outfits.empty()) {
    if (auto it = overlay_->outfit_index.find(outfit_id); it != overlay_->outfit_index.end())
      return &overlay_->outfits[it->second];
  }
  auto it = base_->outfit_index.find(outfit_id);
  if (it == base_->outfit_index.end()) return nullptr;
  if (overlay_->hidden_outfit_count != 0 && overlay_->hidden_outfits[it->second]) return nullptr;
  return &base_->outfits[it->second];
}

std::vector<std::int64_t> OutfitGraph::outfits_of(std::int64_t item_id) const {
  std::vector<std::int64_t> out;
  if (item(item_id) == nullptr) return out;
  const bool overlay_outfits = !overlay_->outfits.empty();
  if (auto it = base_->outfits_of_item.find(item_id); it != base_->outfits_of_item.end()) {
    for (const std::int64_t id : it->second) {
      // A base outfit an edit changed is listed by the overlay when the item is still in it.
      if (overlay_outfits && overlay_->outfit_index.contains(id)) continue;
      if (overlay_->hidden_outfit_count != 0 && outfit(id) == nullptr) continue;
      out.push_back(id);
    }
  }
  if (overlay_outfits) {
    if (auto it = overlay_->outfits_of_item.find(item_id); it != overlay_->outfits_of_item.end()) {
      const std::size_t from_base = out.size();
      out.insert(out.end(), it->second.begin(), it->second.end());
      std::inplace_merge(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(from_base), out.end());
    }
  }
  return out;
}

OutfitGraph::Range<catalog::Item> OutfitGraph::items() const {
  return {&base_->items, overlay_->hidden_item_count ? &overlay_->hidden_items : nullptr, &overlay_->items,
          base_->items.size() - overlay_->hidden_item_count + overlay_->items.size()};
}

OutfitGraph::Range<catalog::Outfit> OutfitGraph::outfits() const {
  return {&base_->outfits, overlay_->hidden_outfit_count ? &overlay_->hidden_outfits : nullptr, &overlay_->outfits,
          base_->outfits.size() - overlay_->hidden_outfit_count + overlay_->outfits.size()};
}

std::span<const catalog::Item> OutfitGraph::items_span(std::vector<catalog::Item>& scratch) const {
  if (overlay_->items.empty() && overlay_->hidden_item_count == 0) return base_->items;
  const auto all = items();
  scratch.assign(all.begin(), all.end());
  return scratch;
}

std::size_t OutfitGraph::overlay_size() const {
  return overlay_->hidden_item_count + overlay_->hidden_outfit_count + overlay_->items.size() +
         overlay_->outfits.size();
}

OutfitGraph OutfitGraph::with_edits(const GraphEdits& edits) const {
  // The rows and the hidden bits are copied; the maps are made anew below (reindex), so copying them
  // would be work thrown away (outfits_of_item alone is a vector per member of every changed outfit).
  auto next = std::make_shared<Overlay>();
  Overlay& o = *next;
  o.hidden_items = overlay_->hidden_items;
  o.hidden_outfits = overlay_->hidden_outfits;
  o.hidden_item_count = overlay_->hidden_item_count;
  o.hidden_outfit_count = overlay_->hidden_outfit_count;
  o.items = overlay_->items;
  o.outfits = overlay_->outfits;
  if (o.hidden_items.size() != base_->items.size()) o.hidden_items.assign(base_->items.size(), false);
  if (o.hidden_outfits.size() != base_->outfits.size()) o.hidden_outfits.assign(base_->outfits.size(), false);
  // Hides the loaded row of `id`, when there is one and it is not hidden yet.
  auto hide_item = [&](std::int64_t id) {
    if (auto it = base_->item_index.find(id); it != base_->item_index.end() && !o.hidden_items[it->second]) {
      o.hidden_items[it->second] = true;
      ++o.hidden_item_count;
    }
  };
  auto hide_outfit = [&](std::int64_t id) {
    if (auto it = base_->outfit_index.find(id); it != base_->outfit_index.end() && !o.hidden_outfits[it->second]) {
      o.hidden_outfits[it->second] = true;
      ++o.hidden_outfit_count;
    }
  };
  // The overlay's outfit `id` as a copy to change: from the overlay, or the base row (then hidden).
  auto editable_outfit = [&](std::int64_t id) -> catalog::Outfit* {
    for (auto& outfit : o.outfits)
      if (outfit.id == id) return &outfit;
    auto it = base_->outfit_index.find(id);
    if (it == base_->outfit_index.end() || o.hidden_outfits[it->second]) return nullptr;
    hide_outfit(id);
    o.outfits.push_back(base_->outfits[it->second]);
    return &o.outfits.back();
  };
  for (const std::int64_t id : edits.removed_items) {
    if (item(id) == nullptr) continue;
    // As Catalog::delete_item: out of every outfit, and an outfit left with fewer than two pieces goes.
    for (const std::int64_t outfit_id : outfits_of(id)) {
      catalog::Outfit* outfit = editable_outfit(outfit_id);
      if (outfit == nullptr) continue;
      std::erase_if(outfit->members, [&](const catalog::OutfitMember& m) { return m.item_id == id; });
      if (outfit->members.size() < 2) outfit->members.clear();  // dropped below
    }
    std::erase_if(o.outfits, [](const catalog::Outfit& outfit) { return outfit.members.empty(); });
    std::erase_if(o.items, [&](const catalog::Item& item) { return item.id == id; });
    hide_item(id);
  }
  for (const catalog::Item& item : edits.added_items) {
    std::erase_if(o.items, [&](const catalog::Item& i) { return i.id == item.id; });
    hide_item(item.id);  // the same id again: the new row replaces the old
    o.items.push_back(item);
  }
  for (const std::int64_t id : edits.removed_outfits) {
    std::erase_if(o.outfits, [&](const catalog::Outfit& x) { return x.id == id; });
    hide_outfit(id);
  }
  for (const catalog::Outfit& outfit : edits.added_outfits) {
    std::erase_if(o.outfits, [&](const catalog::Outfit& x) { return x.id == outfit.id; });
    hide_outfit(outfit.id);
    o.outfits.push_back(outfit);
  }
  std::ranges::stable_sort(o.items, {}, &catalog::Item::id);
  std::ranges::stable_sort(o.outfits, {}, &catalog::Outfit::id);
  o.reindex();
  OutfitGraph graph;
  graph.base_ = base_;
  graph.overlay_ = std::move(next);
  return graph;
}

}  // namespace mystyle::recommend
