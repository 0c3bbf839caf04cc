#include "mystyle/engine/catalog_edits.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <opencv2/core.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/image/probe.h"
#include "mystyle/nn/image_set.h"

namespace mystyle::engine {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string extension_of(const std::string& format) { return format == "jpeg" ? "jpg" : format; }

bool inside(const std::filesystem::path& file, const std::filesystem::path& dir) {
  const auto f = std::filesystem::weakly_canonical(file), d = std::filesystem::weakly_canonical(dir);
  const auto rel = f.lexically_relative(d);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

PhotoVectors encode_catalog_photo(nn::Model& model, nn::LatentPooling pooling, const std::filesystem::path& photo,
                                  bool views) {
  // Encoded exactly as `mystyle embed` encodes a catalog photo: read from its file, preprocessed,
  // through the 8-bit image the image cache keeps (embed_catalog), and its edited views
  // (embed_catalog_views) straight from the preprocessed floats.
  image::PreprocessOptions preprocess;
  preprocess.image_side_px = model.spec().image_side_px;
  const int dim = model.feature_size(pooling);
  const cv::Mat rgb = image::read_image(photo, {}, image::decode_min_side_px(preprocess));
  const std::size_t image_floats = static_cast<std::size_t>(3 * preprocess.image_side_px * preprocess.image_side_px);
  PhotoVectors out;
  std::vector<float> chw(image_floats);
  out.item.resize(static_cast<std::size_t>(dim));
  cv::Mat seen;
  image::preprocess_into(rgb, preprocess, chw, &seen);
  const cv::Mat seen_rows = seen.isContinuous() ? seen : seen.clone();
  const auto set = nn::ImageSet::from_bytes({seen_rows.ptr<std::uint8_t>(), image_floats}, 1, 3,
                                            preprocess.image_side_px, nn::PixelOrder::kHwc);
  const std::uint32_t first = 0;
  set.gather({&first, 1}, chw);
  model.encode(chw, 1, pooling, out.item);
  if (views) {
    std::vector<float> batch(static_cast<std::size_t>(kEditedViews) * image_floats);
    for (int v = 1; v <= kEditedViews; ++v) {
      image::preprocess_into(edited_view(rgb, v), preprocess,
                             {batch.data() + static_cast<std::size_t>(v - 1) * image_floats, image_floats});
    }
    out.views.resize(static_cast<std::size_t>(kEditedViews * dim));
    model.encode(batch, kEditedViews, pooling, out.views);
  }
  return out;
}

namespace {

AddedItem add_item_encoded_by(const Workspace& workspace, catalog::Item item, std::string_view photo_bytes,
                              const CatalogEditOptions& options, const std::function<EmbeddingModel&()>& model_of) {
  const auto start = std::chrono::steady_clock::now();
  const std::string name = fmt::format("photo of {}/{}", item.source, item.source_id);
  // Everything that can refuse the edit is checked before anything is written.
  const image::ImageInfo info = image::probe_image(as_bytes(photo_bytes), name);
  (void)image::decode_image(as_bytes(photo_bytes), name, options.limits);
  if (item.source.empty() || item.source_id.empty())
    throw Error("an item needs a source and a source_id", ErrorKind::kInvalidInput);

  FileLock lock(workspace.write_lock_file());
  EmbeddingModel& loaded = model_of();
  nn::Model& model = loaded.model;
  const std::uint64_t source_hash = loaded.source_hash;
  // The files' headers only: the rows go to their edit logs (append_embedding_edits), not a rewrite.
  const auto embeddings_path = workspace.embeddings_file(options.model, pooling_name(options.pooling));
  const EmbeddingsHeader embeddings = current_embeddings_header(workspace, options.model, options.pooling, source_hash);
  const auto views_path = views_file(workspace, options.model, options.pooling);
  bool views = false;
  if (std::filesystem::exists(views_path)) {
    const EmbeddingsHeader h = read_embeddings_header(views_path);
    views = h.model_hash == embeddings.model_hash && h.dim == embeddings.dim;
  }
  {
    catalog::Catalog cat(workspace.root());
    if (const auto existing = cat.find_item_by_source(item.source, item.source_id)) {
      throw Error(fmt::format("item {}/{} is already in the catalog as item {}", item.source, item.source_id,
                              existing->id),
                  ErrorKind::kInvalidInput);
    }
  }

  // The photo, named by its bytes: the same upload twice is one file.
  const auto photo_path = workspace.photos_dir() /
                          fmt::format("{:016x}.{}", fnv1a64(photo_bytes), extension_of(info.format));
  if (!std::filesystem::exists(photo_path)) write_file_atomic(photo_path, photo_bytes);

  const PhotoVectors vectors = encode_catalog_photo(model, options.pooling, photo_path, views);

  item.image_path = photo_path.string();
  AddedItem added;
  {
    catalog::Catalog cat(workspace.root());
    added.item = cat.add_item(item);
  }
  EmbeddingEdits rows;
  rows.put_ids = {added.item.id};
  rows.put_vectors = vectors.item;
  append_embedding_edits(embeddings_path, rows);
  added.embedded = true;
  if (views) {
    EmbeddingEdits view_rows;
    for (int v = 1; v <= kEditedViews; ++v) view_rows.put_ids.push_back(view_id(added.item.id, v));
    view_rows.put_vectors = vectors.views;
    append_embedding_edits(views_path, view_rows);
    added.views_embedded = kEditedViews;
  }
  added.vectors = vectors;
  added.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return added;
}

}  // namespace

AddedItem WorkspaceWriter::add_item(catalog::Item item, std::string_view photo_bytes) {
  std::lock_guard lock(model_mutex_);
  AddedItem added = add_item_encoded_by(workspace_, std::move(item), photo_bytes, options_, [this]() -> EmbeddingModel& {
    // The model of the last add while its file is unchanged (checked under the write lock).
    const auto stamp = file_stamp(workspace_.model_file(options_.model));
    if (!model_ || stamp != model_stamp_) {
      model_.reset();
      model_.emplace(load_embedding_model(workspace_, options_.model));
      model_stamp_ = stamp;
    }
    return *model_;
  });
  RecommenderEdits e;
  e.added = {added.item};
  e.vectors = added.vectors.item;
  e.view_vectors = added.vectors.views;
  std::lock_guard edits(edits_mutex_);
  edits_.append(std::move(e));
  return added;
}

bool WorkspaceWriter::remove_item(std::int64_t id) {
  if (!engine::remove_item(workspace_, id, options_)) return false;
  RecommenderEdits e;
  e.removed = {id};
  std::lock_guard edits(edits_mutex_);
  edits_.append(std::move(e));
  return true;
}

catalog::Outfit WorkspaceWriter::add_outfit(const catalog::Outfit& outfit) {
  catalog::Catalog cat(workspace_.root());
  catalog::Outfit added = cat.add_outfit(outfit);
  RecommenderEdits e;
  e.added_outfits = {added};
  std::lock_guard edits(edits_mutex_);
  edits_.append(std::move(e));
  return added;
}

RecommenderEdits WorkspaceWriter::take_edits() {
  std::lock_guard edits(edits_mutex_);
  return std::exchange(edits_, {});
}

AddedItem add_item_with_photo(const Workspace& workspace, catalog::Item item, std::string_view photo_bytes,
                              const CatalogEditOptions& options) {
  std::optional<EmbeddingModel> model;
  return add_item_encoded_by(workspace, std::move(item), photo_bytes, options, [&]() -> EmbeddingModel& {
    model.emplace(load_embedding_model(workspace, options.model));
    return *model;
  });
}

bool remove_item(const Workspace& workspace, std::int64_t id, const CatalogEditOptions& options) {
  FileLock lock(workspace.write_lock_file());
  std::optional<catalog::Item> item;
  {
    catalog::Catalog cat(workspace.root());
    item = cat.find_item(id);
  }
  if (!item) return false;
  // Every embeddings file of the model, whatever made it: none may keep a row for a removed id. A
  // remove record in each file's edit log (append_embedding_edits), not a rewrite of the file.
  for (const auto& path : {workspace.embeddings_file(options.model, pooling_name(options.pooling)),
                           views_file(workspace, options.model, options.pooling)}) {
    if (!std::filesystem::exists(path)) continue;
    const bool views = path == views_file(workspace, options.model, options.pooling);
    EmbeddingEdits gone;
    if (views) {
      for (int v = 1; v <= kEditedViews; ++v) gone.removed.push_back(view_id(id, v));
    } else {
      gone.removed.push_back(id);
    }
    append_embedding_edits(path, gone);
  }
  bool photo_shared = false;
  {
    catalog::Catalog cat(workspace.root());
    if (!cat.delete_item(id)) return false;
    if (item->image_path) {
      auto s = cat.db().prepare("SELECT count(*) FROM items WHERE image_path = ?1");
      s.bind(1, *item->image_path);
      s.step();
      photo_shared = s.column_int64(0) > 0;
    }
  }
  if (item->image_path && !photo_shared && inside(*item->image_path, workspace.photos_dir())) {
    std::error_code ec;
    std::filesystem::remove(*item->image_path, ec);  // an unreferenced photo left behind is harmless
  }
  return true;
}

}  // namespace mystyle::engine
