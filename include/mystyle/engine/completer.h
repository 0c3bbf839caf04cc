#pragma once
/// "Complete the look": photo in, the pieces that go with it in every other slot and whole outfits
/// around it, from the learned compatibility model (compat_model.h) and the outfit search
/// (recommend/complete.h). The photo's slot comes from the request or from its best visual match
/// (Recommender::recommend); its compatibility views come from its style embedding and colour
/// features, like every catalog item's. complete() may be called from several threads.
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mystyle/engine/compat_model.h"
#include "mystyle/engine/pieces.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/recommend/complete.h"

namespace mystyle::engine {

/// A complete-the-look query. Its bounds are the only ones: the CLI's option ranges and the server's
/// parameter checks read them from here.
struct CompleteRequest {
  static constexpr std::size_t kMaxOutfits = 20;
  static constexpr std::size_t kMaxPerSlot = 50;

  std::vector<catalog::Slot> slots;  ///< slots to fill; empty: those usually worn with the photo's
  std::size_t outfits = 3;           ///< whole outfits (0: per-slot candidates only), at most kMaxOutfits
  std::size_t per_slot = 5;  ///< candidates listed per slot (what "swap" walks through), 1 to kMaxPerSlot
  std::optional<std::string> category;  ///< only pieces of this catalog category
  /// Only pieces of this colour family (canonical, catalog::kColourFamilies) in the slots it fills;
  /// the photo's own pieces, kept or matched, are what they are.
  std::optional<std::string> colour_family;
  std::optional<catalog::Slot> slot;    ///< the photo's slot; default: its best match's
  /// A photo of a person: the worn piece to replace (its slot is filled with pieces that go with the
  /// rest of what the person wears). Unset: every worn piece is kept and the other slots are filled.
  PieceChoice piece;

  /// Throws mystyle::Error (kInvalidInput) naming the field out of its bounds, or a colour family
  /// that is not canonical.
  void validate() const;
};

/// A worn piece in a completed look: kept (the person wears it; its closest catalog item stands for it in
/// the shop) or being replaced.
struct WornPiece {
  std::size_t index = 0;  ///< in PiecesResult::pieces
  bool replaced = false;
};

struct CompleteResponse {
  /// The photo's visual matches (decode, encode and search timings); for a worn photo the chosen (or
  /// most prominent) piece's.
  RecommendResult match;
  /// The photo's pieces (PieceSearch) when the Completer was given one; worn: a person's.
  std::optional<PiecesResult> pieces;
  std::vector<WornPiece> worn;  ///< the sold worn pieces: the context of the look
  std::string note;             ///< why nothing could be completed (no garment the catalog sells)
  catalog::Slot query_slot = catalog::Slot::kOther;
  bool slot_from_request = false;
  recommend::CompleteResult result;
  int decodes = 1;       ///< of the photo: 2 when its colour features needed a reduced JPEG decode of their own
  double compat_ms = 0;  ///< colour features (and their decode, when a second one) + the compatibility views
  double search_ms = 0;  ///< complete_outfits
  double total_ms() const;
};

/// Two items count as near-identical (the same look) when they are one design in other colours, or
/// when their style embeddings' cosine reaches this quantile of the catalog's same-type pairs (the
/// closest 2% of look-alikes: a fixed cosine would mean nothing across models, a weakly trained one
/// putting most pairs above 0.9).
inline constexpr double kNearIdenticalSameTypeQuantile = 0.98;

class Completer {
 public:
  /// Loads models/compat.model (and .json) and embeds every catalog item for it. Throws
  /// mystyle::Error naming `mystyle train --model compat` when the model is missing, or when it
  /// was trained on other features than the recommender's model.
  static std::unique_ptr<Completer> open(const Workspace& workspace, Recommender& recommender);
  /// The same, after a reload: when `previous` was opened from the same compatibility model, the
  /// colour features of items whose photo is unchanged and the views of items whose features are
  /// unchanged are taken from it (exactly what would be computed), so a small edit to a large
  /// catalog costs milliseconds instead of seconds. `previous` is only read, during the call.
  static std::unique_ptr<Completer> reopen(const Workspace& workspace, Recommender& recommender,
                                           const Completer& previous);
  /// Items whose compatibility views were computed when this was opened (the rest reused).
  std::size_t items_computed() const { return table_->computed(); }
  /// The same completer over `next`, an edited version of this one's recommender
  /// (Recommender::with_edits(edits)): its model and every loaded item's views are shared, not
  /// copied; the items `edits` added or changed (with their photo and style vectors) get their colour
  /// features and views computed and laid over them (a photo decode and a forward pass each, a few
  /// milliseconds). Removed items are never proposed (they are not in `next`'s catalog). An added
  /// item whose photo cannot be read, or whose vectors are not the style embedding the model takes
  /// (a recommender serving mean pooling), is left out of complete the look until the next reopen.
  std::unique_ptr<Completer> over(Recommender& next, const RecommenderEdits& edits = {}) const;
  ~Completer();

  /// Throws mystyle::Error for an undecodable or oversized image (named `name`) or bad parameters.
  /// With `pieces` (over the same recommender), a photo of a person is completed around what they wear:
  /// each worn piece the catalog sells is kept and the slots they do not wear are filled with pieces
  /// that go with all of them (CompleteRequest::piece: that piece's slot is filled instead, with pieces
  /// that go with the rest); a garment alone is answered exactly as without `pieces`.
  CompleteResponse complete(std::span<const std::uint8_t> image_bytes, const std::string& name,
                            const CompleteRequest& request, PieceSearch* pieces = nullptr);

  /// complete() of a photo whose pieces were found (PieceSearch::find or search_parsed, with a request
  /// of k 10 and 1 outfit): `found.worn` must be true. Public so that a test can give pieces of its own.
  CompleteResponse complete_worn(PiecesResult found, const CompleteRequest& request);

  /// The stable JSON document of `mystyle complete --json` and `POST /api/complete` (docs/api.md).
  nlohmann::json to_json(const CompleteResponse& response, const CompleteRequest& request) const;

  /// What the compatibility model learned from (models/compat.json).
  const nlohmann::json& description() const { return *parts_->description; }
  const CompatTable& table() const { return *table_; }
  /// The style-embedding cosine at or above which two pieces are near-identical.
  float near_identical_cosine() const { return near_identical_cosine_; }

 private:
  /// The compatibility views ([kCompatSlots, dim]) of a photo's style embedding and colour features.
  std::vector<float> views_of(std::vector<float> embedding, const std::vector<float>& colour, catalog::Slot slot);

  Completer(Recommender& recommender, CompatModel model, CompatTable table, CompatFeatures features,
            std::unique_ptr<nlohmann::json> description);

  /// What a completer and its versions over edited recommenders share.
  struct Parts {
    explicit Parts(CompatModel m);
    ~Parts();
    CompatModel model;
    std::mutex model_mutex;
    std::unique_ptr<nlohmann::json> description;
  };
  Completer(Recommender& recommender, std::shared_ptr<Parts> parts, std::shared_ptr<const CompatTable> table,
            std::shared_ptr<const CompatFeatures> features);

  Recommender& recommender_;
  std::shared_ptr<Parts> parts_;
  std::shared_ptr<const CompatTable> table_;  ///< every item's views (edited items laid over the loaded)
  std::shared_ptr<const CompatFeatures> features_;  ///< style rows first (the near-identical check)
  std::vector<std::vector<catalog::Slot>> default_slots_;  ///< per query slot (kAllSlots order)
  float near_identical_cosine_ = 0.9f;
  std::uint64_t model_hash_ = 0;  ///< of models/compat.model and .json: what reopen() may reuse
};

}  // namespace mystyle::engine
