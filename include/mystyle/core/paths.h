#pragma once
/// Where the shared data sets live and where a workspace is, resolved from the environment.
#include <filesystem>

namespace mystyle {

/// `$MYSTYLE_DATASETS`, or the build-time default (`../shared/datasets` beside the checkout).
std::filesystem::path datasets_dir();

/// `$MYSTYLE_WORKSPACE`, or `./mystyle-workspace`.
std::filesystem::path default_workspace_dir();

}  // namespace mystyle
