#pragma once
/// The search index over the catalog's embeddings, kept in the workspace
/// (`index/<model>-<pooling>-<kind>.idx` plus a small `.json` naming the model it was built from)
/// and brought in line with the embeddings when opened: items added to the catalog are added,
/// removed ones removed, without a rebuild; a retrained model rebuilds it.
#include <memory>
#include <string>

#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/index/vector_index.h"

namespace mystyle::engine {

enum class IndexKind {
  kExact,  ///< brute force, exact, every metric per query (the default; fast up to ~1M items)
  kHnsw,   ///< FAISS HNSW, approximate, one metric fixed when built (for large catalogs)
};

std::string index_kind_name(IndexKind kind);
IndexKind parse_index_kind(const std::string& name);

struct IndexSync {
  std::unique_ptr<index::VectorIndex> index;
  std::size_t added = 0, removed = 0;
  std::size_t changed = 0;  ///< held with an old vector: removed and added again (counted in both)
  bool rebuilt = false;  ///< built from scratch (no usable file, another model, or most rows changed)
  /// Written back to its file. An index of 100,000 items or more is not written for a change of at
  /// most 1% of it: the next sync makes the same change again, in milliseconds.
  bool saved = false;
  std::filesystem::path path;
};

/// Opens or builds the index for `embeddings` (made by `model`), synchronises it, and saves it
/// back atomically when anything changed: ids added or gone, and rows whose vector changed under the
/// same id (an item's new photo, from the edit log or a rewritten file). The saved meta records the
/// embeddings' digests (EmbeddingsView::file_digest, log_digest): with the same digests and ids the
/// index is current as it is; when only the log moved, its puts are compared; otherwise every row.
/// A small change to a large index is not saved (IndexSync::saved).
IndexSync sync_index(const Workspace& workspace, const std::string& model, const EmbeddingsView& embeddings,
                     IndexKind kind, index::Metric metric);

}  // namespace mystyle::engine
