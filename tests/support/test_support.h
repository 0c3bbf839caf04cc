#pragma once
/// Helpers shared by the tests: data set lookup (with a clear skip when absent) and scratch dirs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "mystyle/core/paths.h"

namespace mystyle::testing {

/// The data set folder, or an empty path when `relative` does not exist under it.
std::filesystem::path dataset_path(const std::string& relative);

/// A fresh, empty folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Writes `text` to `path` (creating parent folders) and returns the path.
std::filesystem::path write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace mystyle::testing

/// Skips the current test, naming the missing data, when `relative` is not under MYSTYLE_DATASETS.
#define MYSTYLE_REQUIRE_DATASET(var, relative)                                                      \
  const std::filesystem::path var = ::mystyle::testing::dataset_path(relative);                   \
  if (var.empty())                                                                                  \
  GTEST_SKIP() << "data set '" << (relative) << "' not found under MYSTYLE_DATASETS ("            \
               << ::mystyle::datasets_dir().string() << "); put ../shared/datasets beside the checkout"
