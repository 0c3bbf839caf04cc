#include "mystyle/eval/eval_data.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/nn/model_file.h"

namespace mystyle::eval {

engine::Embeddings load_checked_embeddings(const engine::Workspace& workspace, const std::string& model,
                                           const std::string& pooling) {
  const auto model_path = workspace.model_file(model);
  if (!std::filesystem::exists(model_path)) {
    throw Error(
        fmt::format("{}: no trained model; run `mystyle train --model {}` first", model_path.string(), model),
        ErrorKind::kNotFound);
  }
  const auto path = workspace.embeddings_file(model, pooling);
  if (!std::filesystem::exists(path)) {
    throw Error(fmt::format("{}: no embeddings; run `mystyle embed --model {} --pooling {}` first",
                            path.string(), model, pooling),
                ErrorKind::kNotFound);
  }
  engine::Embeddings e = engine::load_embeddings(path);
  const std::string model_bytes = read_file_bytes(model_path);
  if (e.model_hash !=
      engine::embedding_source_hash(model_bytes, nn::load_model(model_path).spec().image_side_px)) {
    throw Error(fmt::format("{}: made by another {} model or image pipeline; run `mystyle embed --model {} "
                            "--pooling {}` again",
                            path.string(), model, model, pooling),
                ErrorKind::kCorrupt);
  }
  return e;
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
