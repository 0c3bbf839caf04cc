#pragma once
/// `mystyle train --model compat`: the compatibility model learned from the outfits of the training
/// designs (every outfit holding a held-out design's item is left out, the same split as `style`
/// and the cold-start evaluation), on the `style` embeddings and the colour features.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mystyle/catalog/design_split.h"
#include "mystyle/engine/compat_model.h"
#include "mystyle/engine/workspace.h"

namespace mystyle::engine {

struct CompatTrainOptions {
  CompatSettings settings;
  std::uint64_t split_seed = catalog::kDefaultSplitSeed;
  std::string style_model = kDefaultModel;  ///< whose flat embeddings are the image features
  int threads = 0;                          ///< 0 = all cores
};

struct CompatTrainReport {
  std::filesystem::path model_path, description_path;
  std::int64_t outfits_used = 0, outfits_left_out = 0, items_with_features = 0, pairs = 0;
  std::vector<CompatEpoch> history;
  double seconds = 0;
};

/// The outfits the compat model may learn from under `split_seed`: those without a held-out design.
std::vector<std::int64_t> training_outfits(const recommend::OutfitGraph& graph, std::uint64_t split_seed);

/// The compat model's input features for every item with a photo: the checked flat embeddings of
/// `style_model` and the colour features (computed once and cached in the workspace).
CompatFeatures load_compat_features(const Workspace& workspace, const recommend::OutfitGraph& graph,
                                    const std::string& style_model, int threads);

/// Trains and saves models/compat.model and models/compat.json (and reports/compat/history.csv).
CompatTrainReport train_compat_on_catalog(const Workspace& workspace, const CompatTrainOptions& options);

}  // namespace mystyle::engine
