#pragma once
/// `mystyle train --model compat`: the compatibility model learned from the outfits of the training
/// designs (every outfit holding a held-out design's item is left out, the same split as `style`
/// and the cold-start evaluation), on the `style` embeddings and the colour features.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/design_split.h"
#include "mystyle/engine/compat_model.h"
#include "mystyle/train/family.h"

namespace mystyle::train {

using engine::CompatEpoch;
using engine::CompatSettings;

struct CompatTrainOptions {
  CompatSettings settings;
  std::uint64_t split_seed = catalog::kDefaultSplitSeed;
  std::string style_model = engine::kDefaultModel;  ///< whose flat embeddings are the image features
  int threads = 0;                                  ///< 0 = all cores
};

struct CompatTrainReport {
  std::filesystem::path model_path, description_path;
  std::int64_t outfits_used = 0, outfits_left_out = 0, items_with_features = 0, pairs = 0;
  std::vector<CompatEpoch> history;
  double seconds = 0;
};

/// The outfits the compat model may learn from under `split_seed`: those without a held-out design.
std::vector<std::int64_t> training_outfits(const recommend::OutfitGraph& graph, std::uint64_t split_seed);

/// Trains on every ordered pair of pieces (both with features) of `outfits` (ids in `graph`).
/// Negatives are drawn from the items of those outfits with the partner's Item::category.
/// Deterministic for a seed and thread count. `on_epoch` (optional) is called after each epoch.
/// Throws mystyle::Error when there are no pairs.
engine::CompatModel train_compat(const recommend::OutfitGraph& graph, std::span<const std::int64_t> outfits,
                                 const engine::CompatFeatures& features, const CompatSettings& settings,
                                 const std::function<void(const CompatEpoch&)>& on_epoch = {});

/// Trains and saves models/compat.model and models/compat.json (and reports/compat/history.csv).
CompatTrainReport train_compat_on_catalog(const Workspace& workspace, const CompatTrainOptions& options);

/// The family's job (family.h): the options that apply (epochs when given, seed, split seed,
/// threads) into CompatTrainOptions, train_compat_on_catalog, summarised.
TrainSummary run_compat_family(const Workspace& workspace, const TrainOptions& options, OptionSet given);

}  // namespace mystyle::train
