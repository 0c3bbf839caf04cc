#pragma once
/// Saving and loading indexes.
///
/// File format (little-endian), version 1:
///   header  magic "MYSTIDX1" (8 bytes), u32 version, u32 kind (0 exact, 1 HNSW), u32 metric,
///           u32 reserved, u64 dim, u64 count (live items), u64 payload bytes
///   payload exact: ids i64[count], vectors f32[count * dim]
///           HNSW:  settings, node ids, tombstone flags, faiss::write_index blob (the graph is
///                  stored, not rebuilt on load)
///   trailer u64 FNV-1a 64 of header and payload
/// Writes go to "<path>.tmp-<pid>", are flushed, then renamed over `path` (atomic on POSIX).
#include <filesystem>
#include <memory>

#include "mystyle/index/vector_index.h"

namespace mystyle::index {

/// Writes an ExactIndex or FaissIndex; throws mystyle::Error (kIo on a write failure,
/// kUnsupported for another VectorIndex type), naming the file.
void save_index(const VectorIndex& index, const std::filesystem::path& path);

/// Reads an index written by save_index. Throws mystyle::Error naming the file: kNotFound when it
/// cannot be opened, kCorrupt for a wrong magic or version, a truncated file, a checksum mismatch
/// or inconsistent contents.
std::unique_ptr<VectorIndex> load_index(const std::filesystem::path& path);

}  // namespace mystyle::index
