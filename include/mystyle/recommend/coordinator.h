#pragma once
/// The coordination step: from the catalog items that look like the query garment to the outfits
/// they are worn in.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mystyle/catalog/slot.h"
#include "mystyle/recommend/outfit_graph.h"

namespace mystyle::recommend {

/// One search result handed to the coordinator, best first.
struct SimilarItem {
  std::int64_t item_id = 0;
  double similarity = 0;  ///< the metric's own score (cosine, Pearson, or Euclidean's 1/d)
  double relevance = 0;   ///< the same on a common [0, 1] scale, higher = closer (see relevance_from)
};

enum class CoordinationMode {
  kSeed,    ///< the original's rule: per similar item in order, every outfit holding it, in table order
  kRanked,  ///< outfits scored by the relevance of the similar items they hold, duplicates merged
};

struct CoordinationOptions {
  CoordinationMode mode = CoordinationMode::kRanked;
  std::size_t max_outfits = 9;  ///< 0 = no limit
  /// Ranked mode: keep only outfits where a similar item fills this slot's group (tops: main_top
  /// and inner_top together), e.g. a top finds outfits in which a similar top was worn.
  std::optional<catalog::Slot> query_slot;
};

/// Why an outfit was chosen: one similar item it holds.
struct OutfitMatch {
  std::int64_t item_id = 0;
  catalog::Slot slot = catalog::Slot::kOther;  ///< the slot it fills in this outfit
  std::size_t rank = 0;                        ///< 0-based position in the similar-item list
  double similarity = 0;
};

struct RecommendedOutfit {
  std::int64_t outfit_id = 0;
  double score = 0;                  ///< ranked: sum of the matched items' relevance; seed: 0
  std::vector<OutfitMatch> matches;  ///< best rank first
  std::vector<catalog::OutfitMember> others;  ///< the outfit's other pieces, in slot order then outfit order
};

/// Slots whose pieces may replace each other (main_top and inner_top are both tops).
bool same_slot_group(catalog::Slot a, catalog::Slot b);

/// Maps a metric's score to [0, 1]: cosine and Pearson clamp at 0; Euclidean 1/d becomes 1/(1+d).
double relevance_from(double similarity, bool is_inverse_distance);

std::vector<RecommendedOutfit> coordinate_outfits(const OutfitGraph& graph, std::span<const SimilarItem> similar,
                                                  const CoordinationOptions& options);

}  // namespace mystyle::recommend
