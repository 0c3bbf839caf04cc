#include "mystyle/index/index_io.h"

#include <fmt/format.h>

#include <array>
#include <cstdio>

#include "mystyle/core/byte_io.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/error.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/index/faiss_index.h"

namespace mystyle::index {
namespace {

constexpr std::array<char, 8> kMagic = {'M', 'Y', 'S', 'T', 'I', 'D', 'X', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 8 + 4 * 4 + 3 * 8;
constexpr std::size_t kTrailerBytes = 8;

enum class IndexKind : std::uint32_t {
  kExact = 0,  ///< ExactIndex: ids and raw vectors
  kHnsw = 1,   ///< FaissIndex: settings, node ids, tombstones, FAISS graph
};

}  // namespace

void save_index(const VectorIndex& index, const std::filesystem::path& path) {
  ByteWriter payload;
  IndexKind kind;
  if (const auto* exact = dynamic_cast<const ExactIndex*>(&index)) {
    kind = IndexKind::kExact;
    payload.put_array<std::int64_t>(exact->ids());
    payload.put_array<float>(exact->vectors());
  } else if (const auto* hnsw = dynamic_cast<const FaissIndex*>(&index)) {
    kind = IndexKind::kHnsw;
    hnsw->write_state(payload);
  } else {
    throw Error(fmt::format("{}: cannot save this kind of index", path.string()), ErrorKind::kUnsupported);
  }
  ByteWriter file;
  file.put(kMagic);
  file.put<std::uint32_t>(kVersion);
  file.put<std::uint32_t>(static_cast<std::uint32_t>(kind));
  file.put<std::uint32_t>(static_cast<std::uint32_t>(index.metric()));
  file.put<std::uint32_t>(0);
  file.put<std::uint64_t>(index.dim());
  file.put<std::uint64_t>(index.size());
  file.put<std::uint64_t>(payload.bytes().size());
  file.put_bytes(payload.bytes().data(), payload.bytes().size());
  file.put<std::uint64_t>(fnv1a64(file.bytes()));
  write_file_atomic(path, file.bytes());
}

std::unique_ptr<VectorIndex> load_index(const std::filesystem::path& path) {
  // Mapped, not read: at a million items the file is ~0.9 GB, and a read copy (zeroed first) cost
  // more than the rest of the load. Files are replaced by rename, never rewritten in place, so the
  // mapping stays valid while it is read.
  const MappedFile file(path);
  const std::string_view bytes(reinterpret_cast<const char*>(file.bytes().data()), file.bytes().size());
  const std::string context = path.string() + ": corrupt index file";
  ByteReader header(bytes, context);
  if (bytes.size() < kHeaderBytes + kTrailerBytes)
    header.fail(fmt::format("truncated ({} bytes)", bytes.size()));
  if (header.get<std::array<char, 8>>() != kMagic) header.fail("not a mystyle index file (bad magic)");
  const auto version = header.get<std::uint32_t>();
  if (version != kVersion)
    header.fail(fmt::format("unsupported version {} (expected {})", version, kVersion));
  const auto kind = header.get<std::uint32_t>();
  const auto metric_code = header.get<std::uint32_t>();
  header.get<std::uint32_t>();
  const auto dim = header.get<std::uint64_t>();
  const auto count = header.get<std::uint64_t>();
  const auto payload_bytes = header.get<std::uint64_t>();
  if (payload_bytes != bytes.size() - kHeaderBytes - kTrailerBytes) {
    header.fail(fmt::format("truncated or padded: payload should be {} bytes, file holds {}", payload_bytes,
                            bytes.size() - kHeaderBytes - kTrailerBytes));
  }
  std::uint64_t stored_sum;
  std::memcpy(&stored_sum, bytes.data() + bytes.size() - kTrailerBytes, sizeof stored_sum);
  const std::string_view body(bytes.data(), bytes.size() - kTrailerBytes);
  if (fnv1a64(body) != stored_sum) header.fail("checksum mismatch");
  if (metric_code > static_cast<std::uint32_t>(Metric::kPearson)) header.fail("unknown metric");
  if (dim == 0 || dim > (1u << 20)) header.fail(fmt::format("implausible dim {}", dim));
  const auto metric = static_cast<Metric>(metric_code);

  ByteReader payload(body.substr(kHeaderBytes), context);
  std::unique_ptr<VectorIndex> index;
  if (kind == static_cast<std::uint32_t>(IndexKind::kExact)) {
    const auto ids = payload.get_array<std::int64_t>();
    const auto vectors = payload.get_array<float>();
    if (vectors.size() != ids.size() * dim) payload.fail("vector count does not match the ids");
    auto exact = std::make_unique<ExactIndex>(dim, metric);
    try {
      exact->add(ids, vectors);
    } catch (const Error& e) {
      payload.fail(e.what());
    }
    if (payload.remaining() != 0) payload.fail("trailing bytes after the payload");
    index = std::move(exact);
  } else if (kind == static_cast<std::uint32_t>(IndexKind::kHnsw)) {
    // Reads to the payload's end (the FAISS graph, its last field, straight from the file's bytes).
    index =
        std::make_unique<FaissIndex>(FaissIndex::read_state(payload, body.substr(kHeaderBytes), dim, metric));
  } else {
    header.fail(fmt::format("unknown index kind {}", kind));
  }
  if (index->size() != count)
    payload.fail(fmt::format("holds {} items, header says {}", index->size(), count));
  return index;
}

}  // namespace mystyle::index
