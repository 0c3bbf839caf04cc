#pragma once
/// What every evaluation reads from and writes to a workspace: checked embeddings, the items to
/// evaluate, and the saved reports (`reports/eval/<kind>.json`, shown by the web app's model page).
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/workspace.h"

namespace mystyle::eval {

/// Loads embeddings/<model>-<pooling>.bin and checks that they were made by the current
/// models/<model>.model. Throws mystyle::Error (kNotFound / kCorrupt) naming the command that fixes
/// it (`mystyle train`, `mystyle embed`).
engine::Embeddings load_checked_embeddings(const engine::Workspace& workspace, const std::string& model,
                                           const std::string& pooling);

/// reports/eval/<kind>.json of the workspace.
std::filesystem::path report_path(const engine::Workspace& workspace, const std::string& kind);

/// Writes `report` (pretty JSON) to report_path atomically; returns the path.
std::filesystem::path save_report(const engine::Workspace& workspace, const std::string& kind,
                                  const nlohmann::json& report);

}  // namespace mystyle::eval
