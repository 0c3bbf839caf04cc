// Fuzzes the AI-Hub outfit-table importer (import_aihub) with an images folder, so photo lookups
// by outfit name and item id run too. See import_harness.h.
#include <cstddef>
#include <cstdint>

#include "import_harness.h"

using namespace mystyle;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const auto dir = fuzz::scratch_dir() / "aihub" / "images";
  std::filesystem::create_directories(dir);
  // Some of the seed's photos: an item's and an outfit's.
  for (const char* name : {"1008013_F.jpg", "1029157_F.jpg", "1008_1008_720_A_A001_A001_000.jpg"}) {
    fuzz::write_file(dir / name, "not decoded");
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto dir = fuzz::scratch_dir() / "aihub";
  const auto csv = dir / "uni_wearing.csv";
  fuzz::write_file(csv, fuzz::as_text(data, size));
  const std::optional<std::filesystem::path> images = dir / "images";
  fuzz::check_import([&](catalog::Catalog& cat) { return catalog::import_aihub(cat, csv, images); });
  return 0;
}
