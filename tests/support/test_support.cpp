#include "support/test_support.h"

#include <atomic>
#include <fstream>
#include <random>

#include "mystyle/core/paths.h"

namespace mystyle::testing {

std::filesystem::path dataset_path(const std::string& relative) {
  auto path = datasets_dir() / relative;
  return std::filesystem::exists(path) ? path : std::filesystem::path{};
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("mystyle-test-" + std::to_string(rd()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  return path;
}

}  // namespace mystyle::testing
