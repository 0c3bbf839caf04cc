#pragma once
// The saved fuzz inputs of tests/data/fuzz/, read as the fuzz targets read them.
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/core/file_io.h"

namespace mystyle::fuzz_regression {

/// The bytes of tests/data/fuzz/`name`.
inline std::string fuzz_input(const std::string& name) {
  return read_file_bytes(std::string(MYSTYLE_FUZZ_DATA) + "/" + name);
}

/// Splits a multi-file input as the fuzz targets do (fuzz/fuzz_support.h, kFileSeparator).
inline std::vector<std::string> split_files(std::string_view input) {
  constexpr std::string_view kSeparator = "\n--next-file--\n";
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at; (at = input.find(kSeparator, start)) != std::string_view::npos; start = at + kSeparator.size()) {
    parts.emplace_back(input.substr(start, at - start));
  }
  parts.emplace_back(input.substr(start));
  return parts;
}

}  // namespace mystyle::fuzz_regression
