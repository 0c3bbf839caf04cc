#pragma once
/// One latent vector per catalog item, made by a trained encoder, stored in the workspace for the
/// index. File: "MSTYEMB1", u32 version, u32 dim, u64 count, u64 model hash, u32 pooling, u64
/// FNV-1a of the payload; payload: i64 ids[count], f32 vectors[count * dim]. Written atomically.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/core/file_io.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/nn/model.h"

namespace mystyle::engine {

struct Embeddings;

struct Embeddings {
  int dim = 0;
  std::uint64_t model_hash = 0;  ///< embedding_source_hash of the model file and pipeline that made them
  nn::LatentPooling pooling = nn::LatentPooling::kFlat;
  std::vector<std::int64_t> ids;  ///< catalog item ids, ascending
  std::vector<float> vectors;     ///< ids.size() * dim, row i belongs to ids[i]

  std::size_t size() const { return ids.size(); }
  std::span<const float> row(std::size_t i) const {
    return {vectors.data() + i * dim, static_cast<std::size_t>(dim)};
  }
};

/// Embeddings read, not owned: ids and vectors borrowed from an Embeddings or a MappedEmbeddings,
/// valid while that lives. What reading code (the index, the recommender) takes, so a mapped file
/// and a vector in memory serve alike.
struct EmbeddingsView {
  int dim = 0;
  std::uint64_t model_hash = 0;
  nn::LatentPooling pooling = nn::LatentPooling::kFlat;
  std::span<const std::int64_t> ids;  ///< ascending
  std::span<const float> vectors;     ///< ids.size() * dim, row i belongs to ids[i]
  /// What the rows are, when known (a MappedEmbeddings' view; 0 for an Embeddings in memory): the file's checksum, and a digest
  /// of the edit-log records applied to it (0: none). Rows with the same two digests are the same
  /// rows, so an index saved beside them (engine::sync_index) need not compare its vectors again.
  std::uint64_t file_digest = 0, log_digest = 0;
  /// The ids whose row the applied edit log sets (added or replaced), ascending: with the same file
  /// digest, the only rows that can differ from the file's.
  std::span<const std::int64_t> log_puts;

  EmbeddingsView() = default;
  EmbeddingsView(const Embeddings& e)  // NOLINT(google-explicit-constructor): a view of it, as span does
      : dim(e.dim),
        model_hash(e.model_hash),
        pooling(e.pooling),
        ids(e.ids),
        vectors(e.vectors) {}  // rows in memory may have been edited: no digests

  std::size_t size() const { return ids.size(); }
  std::span<const float> row(std::size_t i) const {
    return vectors.subspan(i * static_cast<std::size_t>(dim), static_cast<std::size_t>(dim));
  }
};

/// An embeddings file mapped read-only instead of copied: what a server's start reads (at a million
/// items the file is 520 MB, and reading it into memory was 5.5 s of an 18 s start). Checked as
/// load_embeddings checks it (header, size, checksum). The ids are copied (in the file they are not
/// 8-byte aligned; they are 1/65 of it at 128-D); the vectors are read from the mapping, so pages
/// come in from the page cache as they are touched and are shared with every process mapping the
/// file. Files are replaced by rename (write_file_atomic), never rewritten in place, so the mapping
/// stays valid while the object lives, whatever replaces the file. Movable, not copyable.
class MappedEmbeddings {
 public:
  MappedEmbeddings() = default;
  /// Whether open() reads the whole file to check its checksum, or leaves that to verify().
  enum class Checksum {
    kNow,    ///< checked before open() returns
    kLater,  ///< the caller calls verify() before trusting a vector (a start does it beside other work)
  };
  /// Throws mystyle::Error: kNotFound when absent, kCorrupt for a bad magic, version, size or
  /// (with Checksum::kNow) checksum.
  static MappedEmbeddings open(const std::filesystem::path& path, Checksum checksum = Checksum::kNow);
  /// Checks the payload against the header's checksum (FNV-1a, a pass over the whole file: 1.2-1.4 s
  /// at a million items). Throws mystyle::Error kCorrupt naming the file. Const and thread-safe.
  void verify() const;

  EmbeddingsView view() const;
  std::size_t size() const { return ids_.size(); }
  /// Drops the file's pages from this process's resident memory (MappedFile::release_resident): after
  /// the checksum's pass has read all of it, only the rows asked for later need to be resident.
  void release_resident() const { file_.release_resident(); }
  /// Records of the edit log read when opened.
  std::size_t log_records() const { return log_records_; }
  /// Whether the vectors are a copy in memory (the log changes the file's rows) rather than the
  /// mapping's (no log, or one of items added and deleted again only).
  bool copied() const { return !owned_.empty(); }

 private:
  void apply_log();
  MappedFile file_;
  std::filesystem::path path_;
  std::uint64_t checksum_ = 0;
  std::vector<std::int64_t> ids_;
  const float* vectors_ = nullptr;  ///< into file_, or into owned_ when the file has an edit log
  std::vector<float> owned_;        ///< the file's vectors with its edit log applied (empty without one)
  std::size_t log_records_ = 0;
  std::uint64_t log_digest_ = 0;           ///< FNV-1a of the log's valid records (0: no log)
  std::vector<std::int64_t> log_puts_;     ///< ids the log sets, ascending
  int dim_ = 0;
  std::uint64_t model_hash_ = 0;
  nn::LatentPooling pooling_ = nn::LatentPooling::kFlat;
};

/// FNV-1a of a model file's bytes followed by the image pipeline's fingerprint for its input size
/// (the default pipeline, as training, embedding and serving use): what embeddings are checked
/// against, so neither a retrained model nor a changed pipeline serves stale vectors.
std::uint64_t embedding_source_hash(std::string_view model_bytes, int image_side_px);

/// A trained model as embedding and serving use it, with the source hash its embeddings must carry.
struct EmbeddingModel {
  nn::Model model;
  std::uint64_t source_hash = 0;  ///< embedding_source_hash of the file and its input size
};
/// Loads models/<model>.model. Throws mystyle::Error kNotFound naming `mystyle train` when absent.
EmbeddingModel load_embedding_model(const Workspace& workspace, const std::string& model);

/// The embeddings of (model, pooling), checked against `source_hash`. Throws mystyle::Error:
/// kNotFound naming `mystyle embed` when absent, kCorrupt when made by another model or pipeline.
Embeddings load_current_embeddings(const Workspace& workspace, const std::string& model,
                                   nn::LatentPooling pooling, std::uint64_t source_hash);
/// load_current_embeddings, mapped (MappedEmbeddings) instead of copied; the same errors (the
/// checksum's only with Checksum::kNow; with kLater, from verify()).
MappedEmbeddings map_current_embeddings(
    const Workspace& workspace, const std::string& model, nn::LatentPooling pooling,
    std::uint64_t source_hash, MappedEmbeddings::Checksum checksum = MappedEmbeddings::Checksum::kNow);

/// Writes the file atomically and deletes its edit log (edit_log_file): `embeddings` must be the
/// whole content, the log's edits included (what load_embeddings gives).
void save_embeddings(const std::filesystem::path& path, const EmbeddingsView& embeddings);

/// Folds the file's edit log into it when the log changes the file's own rows (a row replaced or
/// deleted: what makes MappedEmbeddings::open copy the file into memory), holding `lock_file`
/// (Workspace::write_lock_file) while it reads and rewrites: the content stays the same. Returns
/// whether it folded. Throws mystyle::Error when the file cannot be read or written.
bool fold_embedding_log(const std::filesystem::path& path, const std::filesystem::path& lock_file);

/// Live edits of an embeddings file (the admin API's), appended to `<file>.log` instead of rewriting
/// the file: at a million items the file is 520 MB, a row 0.5 KB. Every reader (MappedEmbeddings::open,
/// load_embeddings, and all that use them) sees the file with its log applied; save_embeddings folds
/// the log in. Log: "MSTYLOG1", u32 dim, u64 model hash (of the file it edits; a log of another
/// model is ignored), then records: u8 op (1 put, 2 remove), i64 id, for a put f32[dim], u64 FNV-1a
/// of the record's bytes before it. Records are idempotent (put = set the row, remove = drop it), so a
/// fold killed between writing the file and deleting the log leaves the same content. A record cut
/// short by a crash ends the log and is cut off by the next append.
struct EmbeddingEdits {
  std::vector<std::int64_t> removed;   ///< applied before the puts
  std::vector<std::int64_t> put_ids;   ///< rows set (added or replaced)
  std::vector<float> put_vectors;      ///< put_ids.size() * dim
  bool empty() const { return removed.empty() && put_ids.empty(); }
};
std::filesystem::path edit_log_file(const std::filesystem::path& embeddings_file);
/// Rows in the log past which append_embedding_edits folds it into the file: 4,096, or a 64th of the
/// file's rows when that is more (at a million items, a fold every 15,625 edits).
std::size_t edit_log_fold_rows(std::uint64_t file_rows);
struct EmbeddingsHeader {
  int dim = 0;
  std::uint64_t count = 0;  ///< rows in the file, not counting its log
  std::uint64_t model_hash = 0;
  nn::LatentPooling pooling = nn::LatentPooling::kFlat;
};
/// The file's header alone (checked as MappedEmbeddings::open checks it, the payload's checksum
/// aside). Throws mystyle::Error: kNotFound when absent, kCorrupt for a bad header or size.
EmbeddingsHeader read_embeddings_header(const std::filesystem::path& path);
/// The header of the embeddings file of (model, pooling), with load_current_embeddings' errors
/// (kNotFound naming `mystyle embed`, kCorrupt when made by another model or pipeline).
EmbeddingsHeader current_embeddings_header(const Workspace& workspace, const std::string& model,
                                           nn::LatentPooling pooling, std::uint64_t source_hash);
/// Appends `edits` to the file's log (fsync'd before it returns) and, when the log then holds more
/// than edit_log_fold_rows rows, folds it. Call with the workspace's write lock held. Throws
/// mystyle::Error (kInvalidInput) for vectors of the wrong size, kIo when the log cannot be written.
/// Returns true when it folded.
bool append_embedding_edits(const std::filesystem::path& path, const EmbeddingEdits& edits);
/// A copy in memory of the file (MappedEmbeddings::open, then copied), for code that edits it.
/// Throws mystyle::Error: kNotFound when absent, kCorrupt for a bad magic, version, size or checksum.
Embeddings load_embeddings(const std::filesystem::path& path);

/// "flat" / "mean".
std::string pooling_name(nn::LatentPooling pooling);
/// Inverse of pooling_name; throws kInvalidInput naming the accepted values.
nn::LatentPooling parse_pooling(const std::string& name);

struct EmbedReport {
  std::size_t items = 0;          ///< vectors in the file
  std::size_t newly_encoded = 0;  ///< encoded by this run (the rest were reused)
  int dim = 0;
  double seconds = 0;
  std::filesystem::path path;
};

/// Encodes every catalog item with a photo through models/<model>.model. Vectors already stored
/// for the same model file are kept; only new items are encoded.
EmbedReport embed_catalog(const Workspace& workspace, const std::string& model, nn::LatentPooling pooling,
                          int threads);

/// Writes `item_source_id,v1,...,vn` rows (with a header) for outside analysis.
void export_embeddings_csv(const Workspace& workspace, const Embeddings& embeddings,
                           const std::filesystem::path& out);

}  // namespace mystyle::engine
