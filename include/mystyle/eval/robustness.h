#pragma once
/// Robustness: does a user's photo of a catalog product find that product? A seeded sample of
/// products of held-out designs (catalog/design_split.h: designs a learned model never trained on;
/// or of all items, on request), each photo perturbed (perturb.h) and run through the real query
/// pipeline (image::preprocess -> the trained encoder -> the exact index over the whole catalog, as
/// the product serves it), and through the simple-feature baselines; recall@1 and recall@k of the
/// original product. Works with any model whose flat embeddings exist (any dimension).
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "mystyle/catalog/design_split.h"
#include "mystyle/engine/workspace.h"

namespace mystyle::eval {

struct RobustnessOptions {
  std::string model = engine::kDefaultModel;
  std::size_t limit = 500;  ///< products sampled (0 = all)
  std::size_t k = 10;
  std::uint64_t seed = 1;                                 ///< seed of the sample
  std::uint64_t split_seed = catalog::kDefaultSplitSeed;  ///< seed of the held-out designs
  bool all_items = false;  ///< sample every item, not only held-out designs (the old protocol)
  int threads = 0;         ///< 0 = all cores
};

/// Recall of one method on one perturbation.
struct RobustnessCell {
  double recall_at_1 = 0, recall_at_k = 0;
};

struct RobustnessReport {
  RobustnessOptions options;
  std::size_t catalog_items = 0;                   ///< the index searched
  std::size_t eligible = 0;                        ///< items the sample was drawn from
  std::size_t queries = 0;                         ///< products sampled (whose photo decoded)
  std::vector<std::string> methods;                ///< columns: ours first, then the baselines
  std::vector<std::string> perturbations;          ///< rows
  std::vector<std::vector<RobustnessCell>> cells;  ///< [perturbation][method]
  /// With a colour model (engine/attributes.h): per perturbation, the share of the edited photos whose
  /// colour family it names as the catalog does; empty without one.
  std::vector<double> colour_named;
  /// Likewise, the share of the edited photos that pass the colour model's confidence gate (and so are
  /// reordered); the others are served in the cosine order.
  std::vector<double> colour_reordered;
  double seconds = 0;
};

/// Throws mystyle::Error naming the command to run when the model or its embeddings are missing or stale.
RobustnessReport run_robustness(const engine::Workspace& workspace, const RobustnessOptions& options);

/// "held-out designs (split seed N)" or "all items": which items the queries were drawn from.
std::string sample_name(const RobustnessOptions& options);

nlohmann::json to_json(const RobustnessReport& report);
std::string format_table(const RobustnessReport& report);

}  // namespace mystyle::eval
