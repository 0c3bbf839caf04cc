// Fuzzes the MANGO importer (import_mango): input = product_data.csv, kFileSeparator,
// outfit_data.csv (a missing second part is an empty file). See import_harness.h.
#include <cstddef>
#include <cstdint>

#include "import_harness.h"

using namespace mystyle;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const auto dir = fuzz::scratch_dir() / "mango";
  std::filesystem::create_directories(dir / "images");
  // The seeds' des_filename values (only existence is checked).
  for (const char* name : {"2019_51000622_02.jpg", "2019_43067759_01.jpg", "2019_53060518_02.jpg",
                           "2019_53030594_08.jpg"}) {
    fuzz::write_file(dir / "images" / name, "not decoded by the importer");
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), fuzz::kFileSeparator);
  const auto dir = fuzz::scratch_dir() / "mango";
  fuzz::write_file(dir / "product_data.csv", parts[0]);
  fuzz::write_file(dir / "outfit_data.csv", parts.size() > 1 ? parts[1] : std::string_view());
  fuzz::check_import([&](catalog::Catalog& cat) { return catalog::import_mango(cat, dir); });
  return 0;
}
