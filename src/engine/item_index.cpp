#include "mystyle/engine/item_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/index/faiss_index.h"
#include "mystyle/index/index_io.h"

namespace mystyle::engine {
namespace {

// An HNSW graph takes minutes per million items (docs/benchmarks.md): it is built in slices, with
// progress and an ETA on stderr from this many items on. Exact adds take seconds and go in one call
// (ExactIndex::add reserves exactly, so slices would copy the index again each time).
constexpr std::size_t kHnswSliceItems = 1 << 16;
constexpr std::size_t kHnswProgressFrom = 100'000;

std::unique_ptr<index::VectorIndex> empty_index(IndexKind kind, std::size_t dim, index::Metric metric) {
  if (kind == IndexKind::kExact) return std::make_unique<index::ExactIndex>(dim, metric);
  return std::make_unique<index::FaissIndex>(dim, metric);
}

std::vector<std::int64_t> index_ids(const index::VectorIndex& idx) {
  if (const auto* exact = dynamic_cast<const index::ExactIndex*>(&idx)) {
    return {exact->ids().begin(), exact->ids().end()};
  }
  if (const auto* hnsw = dynamic_cast<const index::FaissIndex*>(&idx)) return hnsw->ids();
  return {};
}

}  // namespace

std::string index_kind_name(IndexKind kind) {
  return kind == IndexKind::kExact ? "exact" : "hnsw";
}

IndexKind parse_index_kind(const std::string& name) {
  if (name == "exact") return IndexKind::kExact;
  if (name == "hnsw") return IndexKind::kHnsw;
  throw Error(fmt::format("unknown index kind '{}': expected exact or hnsw", name));
}

IndexSync sync_index(const Workspace& workspace, const std::string& model, const EmbeddingsView& embeddings,
                     IndexKind kind, index::Metric metric) {
  IndexSync sync;
  std::string name = fmt::format("{}-{}-{}", model, pooling_name(embeddings.pooling), index_kind_name(kind));
  if (kind == IndexKind::kHnsw) name += fmt::format("-{}", index::metric_name(metric));
  sync.path = workspace.root() / "index" / (name + ".idx");
  const auto meta_path = workspace.root() / "index" / (name + ".json");
  const std::string expected_meta = nlohmann::json{
      {"model", model},
      {"model_hash", fmt::format("{:016x}", embeddings.model_hash)},
      {"dim", embeddings.dim}}.dump();

  if (std::filesystem::exists(sync.path) && std::filesystem::exists(meta_path) &&
      read_file_bytes(meta_path) == expected_meta) {
    try {
      sync.index = index::load_index(sync.path);
    } catch (const Error&) {
      sync.index.reset();  // a damaged index is rebuilt from the embeddings, which are the truth
    }
  }
  if (!sync.index || sync.index->dim() != static_cast<std::size_t>(embeddings.dim)) {
    sync.index = empty_index(kind, static_cast<std::size_t>(embeddings.dim), metric);
    sync.rebuilt = true;
  }

  const std::vector<std::int64_t> present = index_ids(*sync.index);
  // The usual case, a saved index of these very embeddings (both in id order): no need for the hash
  // sets below, a million ids each at scale, on every server start.
  if (!sync.rebuilt && std::ranges::equal(present, embeddings.ids)) return sync;
  const std::unordered_set<std::int64_t> wanted(embeddings.ids.begin(), embeddings.ids.end());
  const std::unordered_set<std::int64_t> have(present.begin(), present.end());
  std::vector<std::int64_t> gone;
  for (std::int64_t id : present) {
    if (!wanted.contains(id)) gone.push_back(id);
  }
  sync.removed = gone.empty() ? 0 : sync.index->remove(gone);
  std::vector<std::int64_t> new_ids;
  std::vector<float> new_vectors;
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    if (have.contains(embeddings.ids[i])) continue;
    new_ids.push_back(embeddings.ids[i]);
    const auto row = embeddings.row(i);
    new_vectors.insert(new_vectors.end(), row.begin(), row.end());
  }
  if (kind == IndexKind::kHnsw && new_ids.size() >= kHnswProgressFrom) {
    const auto dim = static_cast<std::size_t>(embeddings.dim);
    Progress progress(fmt::format("building the HNSW index {}", sync.path.filename().string()),
                      static_cast<std::int64_t>(new_ids.size()), "items");
    for (std::size_t s = 0; s < new_ids.size(); s += kHnswSliceItems) {
      const std::size_t n = std::min(kHnswSliceItems, new_ids.size() - s);
      sync.index->add(std::span(new_ids).subspan(s, n), std::span(new_vectors).subspan(s * dim, n * dim));
      progress.advance(static_cast<std::int64_t>(n));
    }
  } else if (!new_ids.empty()) {
    sync.index->add(new_ids, new_vectors);
  }
  sync.added = new_ids.size();
  if (sync.rebuilt || sync.added > 0 || sync.removed > 0) {
    index::save_index(*sync.index, sync.path);
    write_file_atomic(meta_path, expected_meta);
  }
  return sync;
}

}  // namespace mystyle::engine
