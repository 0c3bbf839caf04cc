#pragma once
/// The catalog's item photos, decoded and preprocessed once by the shared pipeline and kept in the
/// workspace (`cache/images-<key>.bin`), memory-mapped for training and encoding. Items added to
/// the catalog later are preprocessed on the next build; the others are reused.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/file_io.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/nn/image_set.h"

namespace mystyle::engine {

/// Every preprocessing setting that changes a pixel the model sees, as text (with a pipeline
/// version bumped when the code's output changes): the image cache's key, and part of what
/// embeddings are checked against (embeddings.h).
std::string pipeline_fingerprint(const image::PreprocessOptions& options);

class ImageCache {
 public:
  /// Opens (and first builds or extends, with progress on stderr) the cache of `items`' photos
  /// preprocessed with `options`, using `threads` workers. Items without a photo are left out; a
  /// photo that fails to decode is left out with a warning naming the file.
  static ImageCache build(const std::filesystem::path& workspace, std::span<const catalog::Item> items,
                          const image::PreprocessOptions& options, int threads);

  /// Catalog ids of the cached images, ascending; image i of images() belongs to item_ids()[i].
  std::span<const std::int64_t> item_ids() const { return ids_; }
  /// 8-bit HWC RGB images after gamma, exactly preprocess()'s seen_rgb8 (its chw = byte / 255).
  nn::ImageSet images() const;
  int side_px() const { return side_; }
  std::size_t size() const { return ids_.size(); }
  const std::filesystem::path& path() const { return path_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  /// Images preprocessed by the last build (0 when everything came from the cache).
  std::size_t newly_built() const { return newly_built_; }

  /// The cache file name for `options` (changes whenever the preprocessing would).
  static std::string file_name(const image::PreprocessOptions& options);

 private:
  std::filesystem::path path_;
  MappedFile file_;
  std::span<const std::int64_t> ids_;
  std::span<const std::uint8_t> pixels_;
  int side_ = 0;
  std::vector<std::string> warnings_;
  std::size_t newly_built_ = 0;
};

}  // namespace mystyle::engine
