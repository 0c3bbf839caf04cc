#pragma once
/// Photo in, outfits out: the shared image pipeline -> the trained encoder -> the index -> the
/// coordination engine. Everything (catalog graph, model, embeddings, index) loads once, when the
/// Recommender is opened; each query then costs a few milliseconds. recommend() may be called from
/// several threads (the encoder runs under a mutex; the rest is read-only).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "mystyle/engine/attributes.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/item_index.h"
#include "mystyle/engine/match_strength.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/index/metric.h"
#include "mystyle/nn/model.h"
#include "mystyle/recommend/coordinator.h"

namespace mystyle::engine {

struct RecommenderConfig {
  std::string model = kDefaultModel;
  nn::LatentPooling pooling = nn::LatentPooling::kFlat;
  IndexKind index = IndexKind::kExact;
  index::Metric hnsw_metric = index::Metric::kCosine;  ///< the one metric an HNSW index serves
  image::DecodeLimits limits;
  /// Index the items' edited views (photo_views.h) when their file is there and current.
  bool use_views = true;
  /// With the style model's flat codes: name the photo's colour family and type, and order cosine
  /// rankings by them (engine/attributes.h), when `mystyle train --model colour` made a current
  /// models/colour.json.
  bool use_colour_model = true;
  /// Fold the embeddings' edit log into the file first when it changes the file's rows
  /// (fold_embedding_log), so that the rows are served from the mapping rather than from a copy in
  /// memory (520 MB at a million items, for as long as the server runs). What `serve` asks for.
  bool fold_edit_log = false;
};

/// A photo query. Its bounds are the only ones: the CLI's option ranges and the server's parameter
/// checks read them from here.
struct RecommendRequest {
  static constexpr std::size_t kMaxK = 200;
  static constexpr std::size_t kMaxOutfits = 100;

  index::Metric metric = index::Metric::kCosine;
  std::size_t k = 10;           ///< similar items, 1 to kMaxK
  std::size_t max_outfits = 9;  ///< 0 = no limit; at most kMaxOutfits
  recommend::CoordinationMode mode = recommend::CoordinationMode::kRanked;
  std::optional<std::string> category;  ///< only similar items of this catalog category
  bool same_slot = false;               ///< ranked: outfits where a similar piece fills the query's slot
  std::optional<catalog::Slot> slot;    ///< the query garment's slot; default: the best match's slot
  /// Only similar items of this slot (a worn piece is searched among its slot's items).
  std::optional<catalog::Slot> similar_slot;
  /// Only similar items of this colour family (a canonical name of catalog::kColourFamilies;
  /// engine/colour_query.h reads a shopper's word into one).
  std::optional<std::string> colour_family;

  /// Throws mystyle::Error (kInvalidInput) naming the field out of its bounds, or a colour family
  /// that is not canonical.
  void validate() const;
};

struct SimilarResult {
  const catalog::Item* item = nullptr;  ///< points into the recommender's graph
  double score = 0;                     ///< the metric's own score (Euclidean: 1/d, may be inf)
  double relevance = 0;                 ///< [0, 1], see recommend::relevance_from
  int view = 0;  ///< which of the item's index entries matched best: 0 its photo, 1..3 an edited view
  std::optional<MatchStrength> match;  ///< cosine only: the score placed among the catalog's pairs
};

struct RecommendResult {
  std::string query_name;
  image::Preprocessed query;  ///< what the model saw (seen_rgb8) and the crop
  std::vector<SimilarResult> similar;
  std::vector<recommend::RecommendedOutfit> outfits;
  std::optional<catalog::Slot> query_slot;
  /// The photo's colour family and type as the colour model reads them (when one is loaded).
  std::optional<PhotoAttributes> attributes;
  bool reranked = false;  ///< `similar` was ordered by the colour model (cosine scores kept)
  std::vector<float> embedding;  ///< the photo's code (the index's vector: unit length for `style`)
  double decode_ms = 0, encode_ms = 0, search_ms = 0, outfits_ms = 0;
};

/// Catalog edits the catalog has stored, to apply to a live recommender (Recommender::with_edits).
struct RecommenderEdits {
  /// Items added, or changed (the same id: the new row and vectors replace the old, its outfits stay),
  /// each with a photo and its vectors below.
  std::vector<catalog::Item> added;
  /// added.size() rows of the model's code of each added item's photo (as `mystyle embed` stores it).
  std::vector<float> vectors;
  /// added.size() * kEditedViews rows: each added item's edited views (needed when the recommender
  /// indexes views, views_per_item() > 1; ignored otherwise).
  std::vector<float> view_vectors;
  std::vector<std::int64_t> removed;  ///< item ids (as Catalog::delete_item: out of their outfits too)
  std::vector<catalog::Outfit> added_outfits;  ///< new, or replacing the outfit of the same id
  std::vector<std::int64_t> removed_outfits;
  /// What was written cannot be described so (a full sync, an item without a vector): reopen.
  bool reopen = false;
  bool empty() const {
    return added.empty() && removed.empty() && added_outfits.empty() && removed_outfits.empty() && !reopen;
  }
  /// Appends `later`'s edits (applied after these).
  void append(RecommenderEdits later);
};

/// An item as every JSON document shows it: item_id, source, source_id, name, category, family,
/// type, colour, slot, shop_url, image_url (`/images/items/{id}`, null when it has no photo).
nlohmann::json item_json(const catalog::Item& item);

class Recommender {
 public:
  /// Loads the catalog, model, embeddings and index of `workspace`. Throws mystyle::Error with the
  /// command to run when something is missing (`mystyle train`, `mystyle embed`) or stale.
  static std::unique_ptr<Recommender> open(const Workspace& workspace, const RecommenderConfig& config);

  /// Throws mystyle::Error for an undecodable or oversized image (named `name`) or bad parameters.
  RecommendResult recommend(std::span<const std::uint8_t> image_bytes, const std::string& name,
                            const RecommendRequest& request);
  /// The photo decoded as recommend() decodes it (RGB, at the size the model's crop needs), for a
  /// caller that also wants the pixels (complete-the-look's colour features): one decode a photo.
  cv::Mat decode(std::span<const std::uint8_t> image_bytes, const std::string& name) const;
  /// The shortest side decode() keeps (image::decode_image's min_side_px).
  int decode_min_side_px() const;
  /// recommend() of a photo decode() gave; its decode_ms counts the preprocessing only.
  RecommendResult recommend(const cv::Mat& rgb, const std::string& name, const RecommendRequest& request);
  RecommendResult recommend_file(const std::filesystem::path& photo, const RecommendRequest& request);

  /// to_json's `similar` and `outfits` arrays alone (each piece of a worn photo lists its own).
  nlohmann::json similar_json(const RecommendResult& result, const RecommendRequest& request) const;
  nlohmann::json outfits_json(const RecommendResult& result) const;

  /// The stable JSON document of `mystyle recommend --json` and `POST /api/recommend`. With
  /// `include_seen_image`, query.seen_image holds what the model saw as a PNG data: URL.
  nlohmann::json to_json(const RecommendResult& result, const RecommendRequest& request,
                         bool include_seen_image = false) const;

  const recommend::OutfitGraph& graph() const { return graph_; }
  const RecommenderConfig& config() const { return config_; }
  const index::VectorIndex& index() const { return *index_; }
  /// Index entries per item: 1, or 1 + kEditedViews when the items' edited views are indexed.
  int views_per_item() const { return views_per_item_; }
  /// Catalog items in the index.
  std::size_t indexed_items() const { return index_->size() / static_cast<std::size_t>(views_per_item_); }
  /// The catalog's same-type and random pair similarities (cosine) that match strengths come from.
  const MatchCalibration& calibration() const { return *calibration_; }
  /// embedding_source_hash of the model file it serves (what its embeddings were checked against).
  std::uint64_t source_hash() const { return source_hash_; }
  /// The colour model in use, or nullptr.
  const AttributeModel* attribute_model() const { return attributes_.get(); }
  /// Distinct catalog categories, sorted (for filters in the UI).
  const std::vector<std::string>& categories() const { return categories_; }
  /// The item's stored embedding (its photo's code, as indexed: view 0), or an empty span when the
  /// item has none (no photo, not embedded yet, or removed). Points into the recommender.
  std::span<const float> item_embedding(std::int64_t item_id) const;

  /// This recommender with catalog edits applied in place (docs/live-edits.md): a new recommender
  /// that shares this one's model, loaded catalog, index and embeddings, and holds only what changed
  /// (RecommenderEdits). Milliseconds whatever the catalog's size; this one is unchanged and keeps
  /// serving. Throws mystyle::Error (kInvalidInput) for vectors of the wrong size.
  std::shared_ptr<Recommender> with_edits(const RecommenderEdits& edits) const;
  /// Edits applied in place since the catalog was loaded (items added or removed, outfits added).
  std::size_t edits_applied() const { return edits_applied_; }

 private:
  /// The request's bounds and its category, checked before any work.
  void check(const RecommendRequest& request) const;
  RecommendResult recommend_checked(const cv::Mat& rgb, const std::string& name,
                                    const RecommendRequest& request);

  /// The model and the lock its encoder runs under, shared by a recommender and its edited versions.
  struct Encoder {
    explicit Encoder(nn::Model m) : model(std::move(m)) {}
    nn::Model model;
    std::mutex mutex;
  };
  /// Vectors of items added by live edits (view 0), by item id.
  using AddedVectors = std::unordered_map<std::int64_t, std::vector<float>>;

  Recommender() = default;

  recommend::OutfitGraph graph_;
  std::shared_ptr<Encoder> encoder_;
  std::shared_ptr<const index::VectorIndex> index_;
  RecommenderConfig config_;
  image::PreprocessOptions preprocess_;
  std::vector<std::string> categories_;
  int views_per_item_ = 1;
  std::shared_ptr<const MatchCalibration> calibration_;
  /// The items' own codes (ids ascending), for item_embedding(): the embeddings file, mapped.
  std::shared_ptr<const MappedEmbeddings> embeddings_;
  std::shared_ptr<const AddedVectors> added_vectors_;
  std::uint64_t source_hash_ = 0;
  std::shared_ptr<const AttributeModel> attributes_;
  std::size_t edits_applied_ = 0;
};

}  // namespace mystyle::engine
