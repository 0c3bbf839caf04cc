#pragma once
/// Live edits of a workspace's catalog, as the server's admin API makes them: an item added with
/// its photo is stored, embedded and its rows merged into the embeddings (and edited-views) files
/// at once, so that the next Recommender::open serves it without `mystyle embed`; a removed item
/// leaves the embeddings, the catalog and (when the admin API stored it) its photo.
///
/// Order on disk, so that a process killed half-way leaves a workspace that opens and serves:
/// add: photo file (atomic) -> catalog row (one transaction) -> embedding rows (atomic file
/// writes); a kill after the catalog row leaves an item without a vector, which `mystyle embed`
/// encodes. Remove: embedding rows -> catalog rows -> photo; a kill in between leaves an item
/// without a vector, or an unreferenced photo. Every edit holds the workspace's write lock
/// (Workspace::write_lock_file), as `mystyle embed` does, so the two never overwrite each other's rows.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/image/decode.h"
#include "mystyle/nn/model.h"

namespace mystyle::engine {

struct CatalogEditOptions {
  std::string model = kDefaultModel;
  nn::LatentPooling pooling = nn::LatentPooling::kFlat;
  image::DecodeLimits limits;  ///< the photo's size limits (larger: kTooLarge, nothing written)
};

/// What `mystyle embed` stores for one catalog photo: its vector (embed_catalog: read from its
/// file, preprocessed, through the 8-bit image the image cache keeps) and, with `views`, the
/// vectors of its kEditedViews edited views (embed_catalog_views), one after another.
struct PhotoVectors {
  std::vector<float> item;
  std::vector<float> views;  ///< empty without `views`
};
struct AddedItem {
  catalog::Item item;
  bool embedded = false;     ///< its vector is in the embeddings file
  int views_embedded = 0;    ///< edited views added to the views file (0 when the workspace has none)
  PhotoVectors vectors;      ///< what was stored: for a server to serve the item without reopening
  double seconds = 0;
};

PhotoVectors encode_catalog_photo(nn::Model& model, nn::LatentPooling pooling, const std::filesystem::path& photo,
                                  bool views);

/// How the server's admin API writes the catalog: into the workspace (WorkspaceWriter), or into a
/// shared catalog (pgsync). Each call is one edit, stored before it returns.
class CatalogWriter {
 public:
  virtual ~CatalogWriter() = default;
  virtual AddedItem add_item(catalog::Item item, std::string_view photo_bytes) = 0;
  virtual bool remove_item(std::int64_t id) = 0;
  virtual catalog::Outfit add_outfit(const catalog::Outfit& outfit) = 0;
  /// What the edits since the last call wrote, for a server to apply in place
  /// (Recommender::with_edits); `reopen` set when it cannot be described so.
  virtual RecommenderEdits take_edits() = 0;
};

/// add_item_with_photo / remove_item / Catalog::add_outfit on one workspace.
class WorkspaceWriter : public CatalogWriter {
 public:
  WorkspaceWriter(Workspace workspace, CatalogEditOptions options)
      : workspace_(std::move(workspace)), options_(std::move(options)) {}
  AddedItem add_item(catalog::Item item, std::string_view photo_bytes) override;
  bool remove_item(std::int64_t id) override;
  catalog::Outfit add_outfit(const catalog::Outfit& outfit) override;
  RecommenderEdits take_edits() override;

 private:
  Workspace workspace_;
  CatalogEditOptions options_;
  std::mutex edits_mutex_;
  RecommenderEdits edits_;  ///< since the last take_edits
  /// The model of the last add, kept while its file's stamp stays the same: loading it and laying its
  /// weights out for serving was about a quarter of an add on MANGO (0.46 s against 0.33 s). One add
  /// uses it at a time.
  std::mutex model_mutex_;
  std::optional<EmbeddingModel> model_;
  std::array<std::int64_t, 3> model_stamp_{};
};

/// Adds `item` (source, source_id, name, category, ... ; id and image_path are ignored) with the
/// photo `photo_bytes`, kept as `photos/<hash>.<format>` in the workspace. The photo is checked
/// (format, size, decodes) before anything is written. Throws mystyle::Error: kInvalidInput /
/// kUnsupported / kTooLarge for a bad photo, kInvalidInput for a taken (source, source_id),
/// kNotFound naming `mystyle train` / `mystyle embed` when the workspace has no model or embeddings.
AddedItem add_item_with_photo(const Workspace& workspace, catalog::Item item, std::string_view photo_bytes,
                              const CatalogEditOptions& options = {});

/// Removes item `id` (see catalog::Catalog::delete_item) and its embedding rows; its photo too when
/// it lies in the workspace's photos folder and no other item uses it. False when there is no such item.
bool remove_item(const Workspace& workspace, std::int64_t id, const CatalogEditOptions& options = {});

}  // namespace mystyle::engine
