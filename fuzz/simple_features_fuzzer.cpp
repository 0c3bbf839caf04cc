// Fuzzes the simple-features cache reader (cache/eval-features-v<N>.bin, read by
// engine::load_simple_features). The cache key (of an empty item list here) and the payload
// checksum are repaired before loading, so mutations reach the size checks. A cache that is not
// usable must be recomputed (with a warning), never crash.
#include <cstddef>
#include <cstdint>
#include <fstream>

#include "fuzz_support.h"
#include "mystyle/engine/simple_features.h"

using namespace mystyle;

namespace {
// "MSTYEVF1", u32 version, grey, colour and hsv dims, u64 count, u64 key, u64 payload hash.
constexpr std::size_t kHeaderBytes = 48;
constexpr std::size_t kKeyAt = 32, kHashAt = 40;

std::filesystem::path workspace() { return fuzz::scratch_dir() / "workspace"; }

std::filesystem::path cache_file() {
  for (const auto& entry : std::filesystem::directory_iterator(workspace() / "cache")) return entry.path();
  fuzz::check(false, "load_simple_features wrote no cache file");
  return {};
}

// The key of an empty item list, read from the cache the library itself writes.
std::uint64_t empty_key = 0;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)engine::load_simple_features(workspace(), {}, 1);
  const std::string bytes = read_file_bytes(cache_file());
  fuzz::check(bytes.size() >= kHeaderBytes, "the library's own cache file is short");
  std::memcpy(&empty_key, bytes.data() + kKeyAt, sizeof empty_key);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(fuzz::as_text(data, size));
  if (bytes.size() >= kHeaderBytes) {
    fuzz::store_le<std::uint64_t>(bytes, kKeyAt, empty_key);
    fuzz::store_le<std::uint64_t>(bytes, kHashAt, fnv1a64(std::string_view(bytes).substr(kHeaderBytes)));
  }
  static const std::filesystem::path path = cache_file();
  fuzz::write_file(path, bytes);
  fuzz::expect_only_mystyle_errors([&] {
    const engine::SimpleFeatures f = engine::load_simple_features(workspace(), {}, 1);
    const std::size_t n = f.ids.size();
    fuzz::check(f.grey.size() == n * image::kGreyDim && f.colour.size() == n * image::kColourDim &&
                    f.hsv.size() == n * image::kHsvDim,
                "feature matrices do not match the ids");
    (void)f.centred_colour_plus_hsv();
  });
  return 0;
}
