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
// An index of at least this many items is saved again only when a sync changes more than
// 1/kSmallChangeShare of it (smaller ones are saved on every change: it costs nothing).
constexpr std::size_t kSaveSmallChangesBelow = 100'000;
constexpr std::size_t kSmallChangeShare = 100;

std::unique_ptr<index::VectorIndex> empty_index(IndexKind kind, std::size_t dim, index::Metric metric) {
  if (kind == IndexKind::kExact) return std::make_unique<index::ExactIndex>(dim, metric);
  return std::make_unique<index::FaissIndex>(dim, metric);
}

/// The index's live ids, ascending (as the embeddings list them; an id added again after a change
/// is at the end of the index's own order).
std::vector<std::int64_t> index_ids(const index::VectorIndex& idx) {
  std::vector<std::int64_t> ids;
  if (const auto* exact = dynamic_cast<const index::ExactIndex*>(&idx)) {
    ids.assign(exact->ids().begin(), exact->ids().end());
  } else if (const auto* hnsw = dynamic_cast<const index::FaissIndex*>(&idx)) {
    ids = hnsw->ids();
  }
  if (!std::ranges::is_sorted(ids)) std::ranges::sort(ids);
  return ids;
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
  // The meta: what made the rows, and what they are (the file's checksum, the edit log's digest).
  nlohmann::json meta{{"model", model},
                      {"model_hash", fmt::format("{:016x}", embeddings.model_hash)},
                      {"dim", embeddings.dim}};
  if (embeddings.file_digest != 0) {
    meta["file_digest"] = fmt::format("{:016x}", embeddings.file_digest);
    meta["log_digest"] = fmt::format("{:016x}", embeddings.log_digest);
  }
  const std::string expected_meta = meta.dump();

  nlohmann::json saved;
  if (std::filesystem::exists(sync.path) && std::filesystem::exists(meta_path)) {
    saved = nlohmann::json::parse(read_file_bytes(meta_path), nullptr, /*allow_exceptions=*/false);
  }
  const auto same = [&](const char* key) { return saved.is_object() && saved.value(key, nlohmann::json()) == meta.value(key, nlohmann::json()); };
  if (same("model") && same("model_hash") && same("dim")) {
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
  // The usual case, a saved index of these very embeddings (both in id order, the same digests): no
  // need for the hash sets below, a million ids each at scale, on every server start.
  const bool same_rows = embeddings.file_digest != 0 && same("file_digest") && same("log_digest");
  if (!sync.rebuilt && same_rows && std::ranges::equal(present, embeddings.ids)) return sync;
  const std::unordered_set<std::int64_t> wanted(embeddings.ids.begin(), embeddings.ids.end());
  const std::unordered_set<std::int64_t> have(present.begin(), present.end());
  std::vector<std::int64_t> gone;
  for (std::int64_t id : present) {
    if (!wanted.contains(id)) gone.push_back(id);
  }
  // Rows the index holds that may have changed since it was saved: none when the digests are the
  // same; the edit log's puts when only the log moved; else every row (an embed, a fold, a file
  // rewritten). Those whose vector differs are removed and added again.
  std::vector<std::int64_t> suspects;
  if (!sync.rebuilt && !same_rows) {
    if (embeddings.file_digest != 0 && same("file_digest")) {
      suspects.assign(embeddings.log_puts.begin(), embeddings.log_puts.end());
    } else {
      suspects.assign(embeddings.ids.begin(), embeddings.ids.end());
    }
    std::erase_if(suspects, [&](std::int64_t id) { return !have.contains(id); });
  }
  std::unordered_set<std::int64_t> changed;
  if (!suspects.empty()) {
    const auto dim = static_cast<std::size_t>(embeddings.dim);
    std::vector<float> rows;
    rows.reserve(std::min<std::size_t>(suspects.size(), 65536) * dim);
    for (std::size_t s = 0; s < suspects.size(); s += 65536) {  // a slice at a time: bounded memory
      const auto slice = std::span(suspects).subspan(s, std::min<std::size_t>(65536, suspects.size() - s));
      rows.clear();
      for (const std::int64_t id : slice) {
        const auto at = std::ranges::lower_bound(embeddings.ids, id) - embeddings.ids.begin();
        const auto row = embeddings.row(static_cast<std::size_t>(at));
        rows.insert(rows.end(), row.begin(), row.end());
      }
      for (const std::int64_t id : sync.index->changed(slice, rows)) {
        changed.insert(id);
        gone.push_back(id);
      }
    }
  }
  // Most rows changed (new vectors for the whole catalog): built afresh, not a tombstone per row.
  const bool afresh = !sync.rebuilt && changed.size() > present.size() / 4;
  if (afresh) {
    sync.index = empty_index(kind, static_cast<std::size_t>(embeddings.dim), metric);
    sync.rebuilt = true;
    sync.removed = present.size();
  } else {
    sync.removed = gone.empty() ? 0 : sync.index->remove(gone);
  }
  std::vector<std::int64_t> new_ids;
  std::vector<float> new_vectors;
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    if (!afresh && have.contains(embeddings.ids[i]) && !changed.contains(embeddings.ids[i])) continue;
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
  sync.changed = changed.size();
  // A large index with a small change is not written again (795 MB at a million items: most of a
  // start after a few edits); the next start makes the same change from the embeddings in
  // milliseconds. Its meta then keeps describing the file as it was saved.
  const std::size_t delta = sync.added + sync.removed;
  const bool small_change =
      sync.index->size() >= kSaveSmallChangesBelow && delta * kSmallChangeShare <= sync.index->size();
  if (sync.rebuilt || (delta > 0 && !small_change)) {
    index::save_index(*sync.index, sync.path);
    write_file_atomic(meta_path, expected_meta);
    sync.saved = true;
  } else if (delta == 0 && (!saved.is_object() || saved.dump() != expected_meta)) {
    write_file_atomic(meta_path, expected_meta);  // the same vectors, checked: new digests only
  }
  return sync;
}

}  // namespace mystyle::engine
