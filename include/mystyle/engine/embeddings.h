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

  EmbeddingsView() = default;
  EmbeddingsView(const Embeddings& e)  // NOLINT(google-explicit-constructor): a view of it, as span does
      : dim(e.dim), model_hash(e.model_hash), pooling(e.pooling), ids(e.ids), vectors(e.vectors) {}

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

 private:
  MappedFile file_;
  std::filesystem::path path_;
  std::uint64_t checksum_ = 0;
  std::vector<std::int64_t> ids_;
  const float* vectors_ = nullptr;  ///< into file_
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

void save_embeddings(const std::filesystem::path& path, const Embeddings& embeddings);
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
