#pragma once
/// Items and outfits loaded once from the catalog into memory, for the lookups recommendation
/// makes on every query (item -> outfits holding it, outfit -> its pieces). Immutable after load,
/// so one graph may be shared by many threads.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "mystyle/catalog/catalog.h"

namespace mystyle::recommend {

class OutfitGraph {
 public:
  /// Reads every item and outfit of `catalog`.
  static OutfitGraph load(catalog::Catalog& catalog);

  /// nullptr for an unknown id.
  const catalog::Item* item(std::int64_t item_id) const;
  const catalog::Outfit* outfit(std::int64_t outfit_id) const;
  /// Ids of the outfits holding the item (in any slot), in outfit id (= import) order; empty for
  /// an unknown item. An outfit holding the item twice is listed once.
  std::span<const std::int64_t> outfits_of(std::int64_t item_id) const;

  const std::vector<catalog::Item>& items() const { return items_; }
  const std::vector<catalog::Outfit>& outfits() const { return outfits_; }

 private:
  std::vector<catalog::Item> items_;
  std::vector<catalog::Outfit> outfits_;
  std::unordered_map<std::int64_t, std::size_t> item_index_, outfit_index_;
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> outfits_of_item_;
};

}  // namespace mystyle::recommend
