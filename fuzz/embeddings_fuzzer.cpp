// Fuzzes embeddings files (engine::load_embeddings) and their edit logs: an input holding "MSTYLOG1"
// is split there, the rest written as the file's log. The header's FNV-1a checksum of the payload
// is repaired before loading so mutations reach the size checks. What loads must be usable:
// ids.size() rows of a non-negative dim, every row inside the vectors, ids ascending and distinct.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "mystyle/engine/embeddings.h"

using namespace mystyle;

namespace {
// Packed: "MSTYEMB1", u32 version, u32 dim, u64 count, u64 model hash, u32 pooling, u64 checksum.
constexpr std::size_t kHeaderBytes = 44;
constexpr std::size_t kChecksumAt = 36;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(fuzz::as_text(data, size));
  std::string log;
  if (const auto at = bytes.find("MSTYLOG1"); at != std::string::npos) {
    log = bytes.substr(at);
    bytes.resize(at);
  }
  if (bytes.size() >= kHeaderBytes) {
    fuzz::store_le<std::uint64_t>(bytes, kChecksumAt, fnv1a64(std::string_view(bytes).substr(kHeaderBytes)));
  }
  const auto path = fuzz::scratch_dir() / "input.bin";
  fuzz::write_file(path, bytes);
  const auto log_path = engine::edit_log_file(path);
  if (log.empty()) {
    std::error_code ec;
    std::filesystem::remove(log_path, ec);
  } else {
    fuzz::write_file(log_path, log);
  }
  fuzz::expect_only_mystyle_errors([&] {
    const engine::Embeddings e = engine::load_embeddings(path);
    fuzz::check(e.dim >= 0, "loaded a negative dim");
    fuzz::check(e.vectors.size() == e.ids.size() * static_cast<std::size_t>(e.dim), "rows do not fill the vectors");
    for (std::size_t i = 1; i < e.ids.size(); ++i) fuzz::check(e.ids[i - 1] < e.ids[i], "ids not ascending");
    double sum = 0;
    for (std::size_t i = 0; i < e.size(); ++i) {
      for (const float v : e.row(i)) sum += v;
    }
    (void)sum;
  });
  return 0;
}
