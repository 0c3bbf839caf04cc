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

#include "mystyle/engine/workspace.h"
#include "mystyle/nn/model.h"

namespace mystyle::engine {

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

void save_embeddings(const std::filesystem::path& path, const Embeddings& embeddings);
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
