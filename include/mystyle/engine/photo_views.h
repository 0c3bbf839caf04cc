#pragma once
/// Catalog views: each item's photo is indexed together with edited copies of it (tilted 5 degrees
/// either way, brighter), encoded by the same model. A user's tilted or brighter photo of a product
/// then lands next to one of the product's views, which a pixel-reconstruction code alone does not
/// manage (docs/results.md, section 4). Index ids of views: item_id * kViewStride + view, view 0
/// being the photo itself; results are folded back to items (an item scores as its closest view).
///
/// File: embeddings/<model>-<pooling>-views.bin, the Embeddings format, rows for views 1..3.
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/index/vector_index.h"

namespace mystyle::engine {

inline constexpr std::int64_t kViewStride = 4;  ///< index ids per item
inline constexpr int kEditedViews = 3;          ///< views 1..3; view 0 is the photo

inline std::int64_t view_id(std::int64_t item_id, int view) {
  return item_id * kViewStride + view;
}
inline std::int64_t item_of_view(std::int64_t id) {
  return id / kViewStride;
}

/// The edited copy `view` (1: tilted +5 degrees, 2: tilted -5 degrees, 3: brighter x1.15 + 10) of a
/// CV_8UC3 RGB photo; borders are replicated (the studio background). Throws kInvalidInput for
/// another view number or image type.
cv::Mat edited_view(const cv::Mat& rgb, int view);

/// "photo", "tilted +5", "tilted -5", "brighter" for views 0..3.
const char* view_name(int view);

/// The views file of (model, pooling).
std::filesystem::path views_file(const Workspace& workspace, const std::string& model,
                                 nn::LatentPooling pooling);

/// Encodes the edited views of every catalog item with a photo (progress on stderr) into
/// views_file(); rows already there for the same model file are kept.
EmbedReport embed_catalog_views(const Workspace& workspace, const std::string& model,
                                nn::LatentPooling pooling, int threads);

/// The edited views of `items`' model and pooling when their file exists and was made by the same
/// model and pipeline (and dim) as `items`; otherwise nothing, with the reason in `stale` (left
/// empty when there is simply no file).
std::optional<Embeddings> load_current_views(const Workspace& workspace, const std::string& model,
                                             const EmbeddingsView& items, std::string* stale = nullptr);

/// Search results over view ids folded back to items, best first: an item appears once, at its
/// closest view, and at most `k` items are kept. When `views` is not null it receives, per kept
/// item, which view matched (0 = the photo).
std::vector<index::Neighbor> fold_views(std::span<const index::Neighbor> neighbors, std::size_t k,
                                        std::vector<int>* views = nullptr);

/// The items' own vectors (as view 0) and their edited views, as one Embeddings keyed by view ids
/// (ascending). Views of items absent from `items` are left out.
Embeddings merge_views(const EmbeddingsView& items, const EmbeddingsView& views);

}  // namespace mystyle::engine
