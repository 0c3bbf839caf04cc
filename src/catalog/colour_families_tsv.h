#pragma once
// The text of data/colour_families.tsv, compiled in (colour_families_tsv.cpp.in, configured by
// src/catalog/CMakeLists.txt). Internal to the catalog module.
#include <string_view>

namespace mystyle::catalog::detail {

/// The whole file, byte for byte.
std::string_view colour_families_tsv();

}  // namespace mystyle::catalog::detail
