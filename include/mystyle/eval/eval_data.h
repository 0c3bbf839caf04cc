#pragma once
/// What every evaluation reads from and writes to a workspace: checked embeddings, the items to
/// evaluate, and the saved reports (`reports/eval/<kind>.json`, shown by the web app's model page).
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/threads.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/engine/workspace.h"

namespace mystyle::eval {

/// Loads embeddings/<model>-<pooling>.bin and checks that they were made by the current
/// models/<model>.model. Throws mystyle::Error (kNotFound / kCorrupt) naming the command that fixes
/// it (`mystyle train`, `mystyle embed`).
engine::Embeddings load_checked_embeddings(const engine::Workspace& workspace, const std::string& model,
                                           const std::string& pooling);

/// Worker threads for an evaluation: `requested`, or every core when it is 0 or less (thread_count).
inline std::size_t eval_threads(int requested) {
  return static_cast<std::size_t>(thread_count(requested));
}

/// What an evaluation of a model's flat code against the simple baselines reads: the catalog's items,
/// the model, its flat embeddings (checked as load_checked_embeddings does) and the simple features of
/// every item with a photo (computed with `threads` workers when not cached).
struct FlatEvalInputs {
  std::vector<catalog::Item> items;
  engine::EmbeddingModel model;
  engine::Embeddings flat;
  engine::SimpleFeatures features;
};
FlatEvalInputs load_flat_eval_inputs(const engine::Workspace& workspace, const std::string& model,
                                     std::size_t threads);

/// The rows ([dim] numbers each) of `vectors` ([ids.size(), dim]) that belong to the `wanted` ids, in
/// the order of `wanted`. Every wanted id must be among `ids` (std::out_of_range otherwise).
std::vector<float> select_rows(std::span<const std::int64_t> ids, std::span<const float> vectors,
                               std::size_t dim, std::span<const std::int64_t> wanted);

/// reports/eval/<kind>.json of the workspace.
std::filesystem::path report_path(const engine::Workspace& workspace, const std::string& kind);

/// Writes `report` (pretty JSON) to report_path atomically; returns the path.
std::filesystem::path save_report(const engine::Workspace& workspace, const std::string& kind,
                                  const nlohmann::json& report);

}  // namespace mystyle::eval
