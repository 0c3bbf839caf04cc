// Fuzzes the generic CSV importer (import_csv): input = items CSV, optionally followed by
// kFileSeparator and an outfits CSV. See import_harness.h for the properties checked.
#include <cstddef>
#include <cstdint>

#include "import_harness.h"

using namespace mystyle;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Image files that seed rows can point at (the importer only checks that they exist).
  const auto dir = fuzz::scratch_dir() / "shop";
  std::filesystem::create_directories(dir / "photos");
  fuzz::write_file(dir / "photos" / "item.jpg", "not decoded by the importer");
  fuzz::write_file(dir / "look.jpg", "not decoded by the importer");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), fuzz::kFileSeparator);
  const auto dir = fuzz::scratch_dir() / "shop";
  const auto items = dir / "items.csv", outfits = dir / "outfits.csv";
  fuzz::write_file(items, parts[0]);
  std::optional<std::filesystem::path> outfits_csv;
  if (parts.size() > 1) {
    fuzz::write_file(outfits, parts[1]);
    outfits_csv = outfits;
  }
  fuzz::check_import([&](catalog::Catalog& cat) { return catalog::import_csv(cat, items, outfits_csv, "shop"); });
  return 0;
}
