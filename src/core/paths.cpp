#include "mystyle/core/paths.h"

#include <cstdlib>

namespace mystyle {

std::filesystem::path datasets_dir() {
  if (const char* env = std::getenv("MYSTYLE_DATASETS"); env != nullptr && *env != '\0') return env;
  return MYSTYLE_DEFAULT_DATASETS;
}

std::filesystem::path default_workspace_dir() {
  if (const char* env = std::getenv("MYSTYLE_WORKSPACE"); env != nullptr && *env != '\0') return env;
  return "mystyle-workspace";
}

}  // namespace mystyle
