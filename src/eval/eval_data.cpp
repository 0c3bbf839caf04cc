#include "mystyle/eval/eval_data.h"

#include <nlohmann/json.hpp>

#include "mystyle/core/file_io.h"

namespace mystyle::eval {

engine::Embeddings load_checked_embeddings(const engine::Workspace& workspace, const std::string& model,
                                           const std::string& pooling) {
  const std::uint64_t source_hash = engine::load_embedding_model(workspace, model).source_hash;
  return engine::load_current_embeddings(workspace, model, engine::parse_pooling(pooling), source_hash);
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
