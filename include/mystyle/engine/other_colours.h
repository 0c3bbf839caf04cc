#pragma once
/// "This piece in other colours" (issue 24, docs/colour.md "Ask by colour"): for a catalog item, its
/// design's other items (the same source and catalog::design_of(source_id): MANGO's other colours of
/// the product), then, beyond them, the nearest items of its type in a colour family, ranked by the
/// item's stored embedding against the recommender's index (cosine, as `recommend` ranks; an item
/// scores as its closest indexed view, as there). Read-only over a Recommender: safe from several
/// threads.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/engine/recommender.h"

namespace mystyle::engine {

/// What to look for. Its bounds are the only ones: the CLI's option range and the server's
/// parameter check read them from here.
struct OtherColoursRequest {
  static constexpr std::size_t kMaxK = 50;

  /// `nearest`: only items of this colour family (canonical, catalog::kColourFamilies). Unset: items
  /// of any known family other than the item's own.
  std::optional<std::string> colour_family;
  std::size_t k = 10;  ///< nearest items, 1 to kMaxK

  /// Throws mystyle::Error (kInvalidInput) naming `k` out of its bounds or a colour family that is not
  /// canonical.
  void validate() const;
};

/// One item found, with its cosine to the asked item's stored embedding (nullopt when either has
/// none: an item without a photo).
struct ColourMatch {
  const catalog::Item* item = nullptr;  ///< points into the recommender's graph
  std::optional<double> score;
};

struct OtherColours {
  const catalog::Item* item = nullptr;  ///< the item asked about
  /// Every other item of its design (same source and design), best score first (ties: the index's
  /// order), then those without a score in the catalog's order.
  std::vector<ColourMatch> same_design;
  /// Items of other designs of its type (Item::type; its slot when it has no type), of the asked
  /// family, best first, at most k. Empty when the item has no stored embedding.
  std::vector<ColourMatch> nearest;
};

/// Throws mystyle::Error: kNotFound for an id the catalog does not have, kInvalidInput for a bad
/// request.
OtherColours find_other_colours(const Recommender& recommender, std::int64_t item_id,
                                const OtherColoursRequest& request);

/// The JSON document of `mystyle colours --json` and `GET /api/items/{id}/colours` (docs/api.md):
/// `item` (item_json), `colour` (the family asked, or null), `k`, `same_design[]` and `nearest[]`
/// (item_json plus `score`, null when unscored; nearest with `rank` too).
nlohmann::json other_colours_json(const OtherColours& found, const OtherColoursRequest& request);

}  // namespace mystyle::engine
