#pragma once
/// The learned compatibility model (`compat`): which pieces go together, learned from the catalog's
/// outfits of the TRAINING designs only (the held-out designs' outfits are never seen).
///
/// Type-aware: an item's input is its features (the `style` embedding and the colour features:
/// centred colour thumbnail + HSV histogram / 2) with a one-hot of its own slot and a one-hot of the
/// slot it is being matched with; a small network (linear 256, ReLU, linear 64, unit length) maps it
/// into a space where, for every pair of slots, pieces worn together point the same way. The score
/// of a pair (a, b) is the cosine between a as seen from b's slot and b as seen from a's slot:
/// one learned projection per pair of slots, sharing their weights.
///
/// Trained on nn/ (oneDNN) with pair_softmax_loss: for each ordered pair of pieces of a known outfit,
/// the real partner against `negatives` random known items of the partner's category (the FITB
/// question as a training signal).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <memory>
#include <optional>
#include <vector>

#include "mystyle/catalog/slot.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/nn/model.h"
#include "mystyle/recommend/outfit_graph.h"

namespace mystyle::engine {

/// The model's name in the workspace (models/compat.model, models/compat.json).
inline constexpr const char* kCompatModel = "compat";
/// Slots in the one-hot inputs (catalog::kAllSlots order).
inline constexpr int kCompatSlots = static_cast<int>(catalog::kAllSlots.size());

/// Input features per item: the style embedding (as stored, unit length) then the centred colour
/// thumbnail + HSV / 2 (SimpleFeatures::centred_colour_plus_hsv). Only items with both.
struct CompatFeatures {
  std::vector<std::int64_t> ids;  ///< ascending
  std::vector<float> rows;        ///< [ids.size(), dim]
  int style_dim = 0;
  int colour_dim = 0;
  int dim() const { return style_dim + colour_dim; }
  /// Items edited since a full load: these rows are laid over `base`'s (shared, not copied).
  std::shared_ptr<const CompatFeatures> base;
  /// The row of `id` (this one's, else the base's), or nullptr.
  const float* row(std::int64_t id) const;
};

/// Joins `style` rows (`style_ids[i]`, `style_dim` numbers each) with `simple`'s colour features.
CompatFeatures make_compat_features(std::span<const std::int64_t> style_ids, std::span<const float> style,
                                    int style_dim, const SimpleFeatures& simple);

/// The compat network: features + 2 one-hot slots in, `hidden` ReLU units, `dim` unit-length numbers out.
nn::ModelSpec compat_spec(int features, int hidden, int dim);
/// Writes the network input of an item seen from `other`: features (`dim` numbers), one-hot own
/// slot, one-hot other slot.
void write_compat_input(const float* features, int dim, catalog::Slot own, catalog::Slot other, float* out);

/// The compat model's input features for every item with a photo: the checked flat embeddings of
/// `style_model` and the colour features (computed once and cached in the workspace).
CompatFeatures load_compat_features(const Workspace& workspace, const recommend::OutfitGraph& graph,
                                    const std::string& style_model, int threads);

struct CompatSettings {
  int epochs = 5;
  int anchors_per_batch = 256;
  int negatives = 15;   ///< other candidates per pair, of the partner's category
  double scale = 10.0;  ///< pair_softmax_loss scale
  float learning_rate = 1e-3f;
  int hidden = 256;
  int dim = 64;
  std::uint64_t seed = 1;  ///< initialisation, shuffling and negatives
};

struct CompatEpoch {
  int epoch = 0;        ///< 1-based
  double loss = 0;      ///< mean over pairs
  double accuracy = 0;  ///< share of pairs whose partner beats every negative
  std::int64_t pairs = 0;
  double seconds = 0;
};

class CompatModel {
 public:
  CompatModel(nn::Model net, int style_dim, int colour_dim);

  int style_dim() const { return style_dim_; }
  int colour_dim() const { return colour_dim_; }
  int dim() const;  ///< embedding size
  nn::Model& net() { return net_; }

  /// Embeddings of features rows `x` ([n, features dim]) of items in `own` slots, each as seen from
  /// every slot: out is [n, kCompatSlots, dim()], unit rows.
  void embed_all(std::span<const float> x, std::span<const catalog::Slot> own, std::vector<float>& out);

  /// Saves the network (models/compat.model) and its description (models/compat.json: features,
  /// settings, outfits learned from, per-epoch history).
  void save(const std::filesystem::path& model_path, const std::filesystem::path& json_path,
            const nlohmann::json& description);
  /// Loads a saved model; throws mystyle::Error naming the file when missing or inconsistent.
  static CompatModel load(const std::filesystem::path& model_path, const std::filesystem::path& json_path);
  /// The same, also handing back the description as read (`json_text`) and as parsed (`description`),
  /// so a caller that needs both reads and parses the file once.
  static CompatModel load(const std::filesystem::path& model_path, const std::filesystem::path& json_path,
                          std::string& json_text, nlohmann::json& description);

 private:
  nn::Model net_;
  int style_dim_, colour_dim_;
};

/// Every item's compatibility embeddings, for scoring any pair in O(dim).
class CompatTable {
 public:
  CompatTable() = default;
  /// Embeds every item of `features` whose slot `graph` knows.
  CompatTable(CompatModel& model, const CompatFeatures& features, const recommend::OutfitGraph& graph);
  /// The same table, reusing `previous`'s views (made by the same model) for every item whose
  /// features row and slot are unchanged in `previous_features`: a reload after a small edit
  /// embeds only what changed.
  CompatTable(CompatModel& model, const CompatFeatures& features, const recommend::OutfitGraph& graph,
              const CompatTable& previous, const CompatFeatures& previous_features);
  /// `table` with the items of `features` (added or changed since it was made; their slots from
  /// `graph`) embedded and laid over it, for a live edit: the loaded table is shared, not copied. Over
  /// a table that is itself laid over one, its rows are kept (those of `features` replace theirs) over
  /// the same loaded table, so layers never chain. Throws mystyle::Error when the model's dimension
  /// is not the table's.
  static CompatTable over(std::shared_ptr<const CompatTable> table, CompatModel& model,
                          const CompatFeatures& features, const recommend::OutfitGraph& graph);
  /// Items whose views the last constructor computed (the rest were reused).
  std::size_t computed() const { return computed_; }
  bool has(std::int64_t id) const;
  /// a's embedding as seen from `other` (dim() floats), or nullptr.
  const float* view(std::int64_t id, catalog::Slot other) const;
  /// Cosine of a-from-b's-slot and b-from-a's-slot; 0 when either is missing.
  float score(std::int64_t a, std::int64_t b) const;
  int dim() const { return dim_; }
  catalog::Slot slot(std::int64_t id) const;
  std::size_t size() const { return base_ ? size_ : ids_.size(); }

 private:
  /// The table holding `id` (this one, else the base) and its row there.
  struct Found {
    const CompatTable* table = nullptr;
    std::size_t row = 0;
  };
  std::optional<Found> find(std::int64_t id) const;
  std::ptrdiff_t index(std::int64_t id) const;
  std::shared_ptr<const CompatTable> base_;  ///< the loaded table these rows are laid over, or null
  std::size_t size_ = 0;                     ///< with a base: items in either
  std::size_t computed_ = 0;
  std::vector<std::int64_t> ids_;  ///< ascending
  std::vector<catalog::Slot> slots_;
  std::vector<float> views_;  ///< [ids, kCompatSlots, dim]
  int dim_ = 0;
};

}  // namespace mystyle::engine
