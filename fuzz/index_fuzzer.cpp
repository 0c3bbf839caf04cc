// Fuzzes index files (index::load_index: the exact index and the FAISS HNSW graph). The header's
// payload length and the FNV-1a trailer are repaired before loading so mutations reach the payload
// parsers (ours and faiss::read_index). An index that loads must answer a search: a loaded but
// inconsistent graph is as much a bug as a crash in the loader.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "mystyle/index/index_io.h"
#include "mystyle/index/vector_index.h"

using namespace mystyle;

namespace {
// magic, u32 version, u32 kind, u32 metric, u32 reserved, u64 dim, u64 count, u64 payload bytes.
constexpr std::size_t kHeaderBytes = 48;
constexpr std::size_t kTrailerBytes = 8;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(fuzz::as_text(data, size));
  if (bytes.size() >= kHeaderBytes + kTrailerBytes) {
    fuzz::store_le<std::uint64_t>(bytes, 40, bytes.size() - kHeaderBytes - kTrailerBytes);
    const std::string_view body = std::string_view(bytes).substr(0, bytes.size() - kTrailerBytes);
    fuzz::store_le<std::uint64_t>(bytes, bytes.size() - kTrailerBytes, fnv1a64(body));
  }
  const auto path = fuzz::scratch_dir() / "input.index";
  fuzz::write_file(path, bytes);
  fuzz::expect_only_mystyle_errors([&] {
    const std::unique_ptr<index::VectorIndex> loaded = index::load_index(path);
    std::vector<float> query(loaded->dim());
    for (std::size_t i = 0; i < query.size(); ++i) query[i] = static_cast<float>(i % 7) - 3.0f;
    const auto found = loaded->search(query, 3);
    fuzz::check(found.size() <= std::min<std::size_t>(3, loaded->size()), "search returned too many results");
  });
  return 0;
}
