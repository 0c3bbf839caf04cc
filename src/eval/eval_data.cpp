#include "mystyle/eval/eval_data.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "mystyle/core/file_io.h"

namespace mystyle::eval {

engine::Embeddings load_checked_embeddings(const engine::Workspace& workspace, const std::string& model,
                                           const std::string& pooling) {
  const std::uint64_t source_hash = engine::load_embedding_model(workspace, model).source_hash;
  return engine::load_current_embeddings(workspace, model, engine::parse_pooling(pooling), source_hash);
}

FlatEvalInputs load_flat_eval_inputs(const engine::Workspace& workspace, const std::string& model,
                                     std::size_t threads) {
  FlatEvalInputs in{
      catalog::Catalog(workspace.root()).all_items(), engine::load_embedding_model(workspace, model), {}, {}};
  in.flat = engine::load_current_embeddings(workspace, model, nn::LatentPooling::kFlat, in.model.source_hash);
  in.features = engine::load_simple_features(workspace.root(), in.items, static_cast<int>(threads));
  return in;
}

std::vector<float> select_rows(std::span<const std::int64_t> ids, std::span<const float> vectors,
                               std::size_t dim, std::span<const std::int64_t> wanted) {
  std::unordered_map<std::int64_t, std::size_t> row_of;
  for (std::size_t i = 0; i < ids.size(); ++i) row_of[ids[i]] = i;
  std::vector<float> out;
  out.reserve(wanted.size() * dim);
  for (std::int64_t id : wanted) {
    const std::size_t r = row_of.at(id);
    out.insert(out.end(), vectors.begin() + static_cast<std::ptrdiff_t>(r * dim),
               vectors.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim));
  }
  return out;
}

std::filesystem::path report_path(const engine::Workspace& workspace, const std::string& kind) {
  return workspace.root() / "reports" / "eval" / (kind + ".json");
}

std::filesystem::path save_report(const engine::Workspace& workspace, const std::string& kind,
                                  const nlohmann::json& report) {
  const auto path = report_path(workspace, kind);
  write_file_atomic(path, report.dump(2) + "\n");
  return path;
}

}  // namespace mystyle::eval
