#pragma once
/// Robustness: does a user's photo of a catalog product find that product? A seeded sample of
/// products, each photo perturbed (perturb.h) and run through the real query pipeline
/// (image::preprocess -> the trained encoder -> the exact index over the whole catalog), and
/// through the simple-feature baselines; recall@1 and recall@k of the original product.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "mystyle/engine/workspace.h"

namespace mystyle::eval {

struct RobustnessOptions {
  std::string model = "seed64";
  std::size_t limit = 500;  ///< products sampled (0 = all)
  std::size_t k = 10;
  std::uint64_t seed = 1;
  int threads = 0;  ///< 0 = all cores
};

/// Recall of one method on one perturbation.
struct RobustnessCell {
  double recall_at_1 = 0, recall_at_k = 0;
};

struct RobustnessReport {
  RobustnessOptions options;
  std::size_t catalog_items = 0;                   ///< the index searched
  std::size_t queries = 0;                         ///< products sampled (whose photo decoded)
  std::vector<std::string> methods;                ///< columns: ours first, then the baselines
  std::vector<std::string> perturbations;          ///< rows
  std::vector<std::vector<RobustnessCell>> cells;  ///< [perturbation][method]
  double seconds = 0;
};

/// Throws mystyle::Error naming the command to run when the model or its embeddings are missing or stale.
RobustnessReport run_robustness(const engine::Workspace& workspace, const RobustnessOptions& options);

nlohmann::json to_json(const RobustnessReport& report);
std::string format_table(const RobustnessReport& report);

}  // namespace mystyle::eval
