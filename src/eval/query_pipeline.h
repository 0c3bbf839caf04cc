#pragma once
/// The query side that the two photo evaluations share (robustness.cpp: a user's edited photo must
/// find its product; transfer.cpp: a photo from outside the studio must get the right slot and type):
/// the model, its flat embeddings and the simple-feature baselines, each in an exact cosine index; a
/// seeded sample of items to query; their catalog photos decoded as an upload is; and edited query
/// photos run through the real pipeline (preprocess at the model's side, encode in batches) beside
/// the simple features. Internal to src/eval (not part of the public eval API).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/nn/model.h"

namespace mystyle::eval {

/// Runs fn(i) for i in [0, n) on `threads` workers (at least one); returns when every call has.
/// `fn` is called concurrently, each i once.
template <typename Fn>
void parallel_for(std::size_t n, std::size_t threads, Fn fn) {
  std::atomic<std::size_t> next{0};
  std::vector<std::jthread> workers;
  for (std::size_t w = 0; w < std::max<std::size_t>(1, threads); ++w) {
    workers.emplace_back([&] {
      for (std::size_t i; (i = next++) < n;) fn(i);
    });
  }
}

/// An exact cosine index of `ids`, row i of `vectors` ([ids.size(), dim]) belonging to ids[i].
index::ExactIndex make_index(std::span<const std::int64_t> ids, std::span<const float> vectors,
                             std::size_t dim);

/// What the queries are searched against: the catalog, the model with its flat embeddings, the
/// baselines' features, and an exact cosine index of each.
struct QuerySetup {
  std::vector<catalog::Item> items;  ///< the whole catalog, in catalog order
  engine::Embeddings flat;           ///< the model's flat embeddings (checked current)
  nn::Model model;
  image::PreprocessOptions pre;  ///< as the product preprocesses an upload, at the model's image side
  engine::SimpleFeatures features;
  index::ExactIndex ours, grey, colour, hsv;
  /// The items with their edited views (engine/photo_views.h), when `mystyle embed` wrote them.
  std::optional<index::ExactIndex> with_views;

  std::size_t dim() const { return static_cast<std::size_t>(flat.dim); }
};

/// Loads the catalog, models/<model>.model and its flat embeddings (eval_data.h: throws naming the
/// command that fixes a missing or stale one), sets the model's threads, loads the simple features
/// and builds the indexes.
QuerySetup load_query_setup(const engine::Workspace& workspace, const std::string& model,
                            std::size_t threads);

/// Numbers per photo that the model encodes (flat); throws mystyle::Error, starting with `evaluation`,
/// when they are not as many as its embeddings hold.
std::size_t checked_code_size(const QuerySetup& setup, std::string_view evaluation, const std::string& model);

/// The items that can be queried, in catalog order: those with a photo that both `ours` and the
/// baselines hold, of held-out designs (catalog::is_held_out_design, `split_seed`) unless `all_items`.
std::vector<const catalog::Item*> eligible_queries(const QuerySetup& setup, bool all_items,
                                                   std::uint64_t split_seed);

/// Shuffles `pool` (Fisher-Yates driven by std::mt19937_64 of `seed`), then keeps the first `limit`
/// (0 = all).
void sample_queries(std::vector<const catalog::Item*>& pool, std::uint64_t seed, std::size_t limit);

/// The sampled items whose catalog photo decoded, in sample order, with that photo (RGB, decoded as
/// the query pipeline decodes an upload: image::decode_min_side_px of `pre`).
struct QueryPhotos {
  std::vector<const catalog::Item*> items;
  std::vector<cv::Mat> photos;
};

/// Decodes the photos of `pool` on `threads` workers; a photo that does not decode is left out.
QueryPhotos decode_query_photos(std::span<const catalog::Item* const> pool,
                                const image::PreprocessOptions& pre, std::size_t threads);

/// Room for `rows` query photos: each preprocessed for the model, its flat code, and its simple
/// features; row i of each buffer belongs to the same photo.
class QueryBuffers {
 public:
  QueryBuffers(std::size_t rows, const image::PreprocessOptions& pre, std::size_t code_size);

  /// Preprocesses `rgb` (CV_8UC3 RGB) into row `row` and computes its simple features there.
  /// Thread-safe for distinct rows.
  void fill(std::size_t row, const cv::Mat& rgb);
  /// Encodes the preprocessed rows [0, rows) into codes(), 64 photos a batch. Not thread-safe.
  void encode(nn::Model& model, std::size_t rows);

  const std::vector<float>& codes() const { return codes_; }    ///< [rows, code_size]
  /// Row `row` as the model saw it (Preprocessed::seen_rgb8: CV_8UC3 RGB).
  cv::Mat seen_rgb8(std::size_t row) const;
  const std::vector<float>& grey() const { return grey_; }      ///< [rows, image::kGreyDim]
  const std::vector<float>& colour() const { return colour_; }  ///< [rows, image::kColourDim]
  const std::vector<float>& hsv() const { return hsv_; }        ///< [rows, image::kHsvDim]

 private:
  image::PreprocessOptions pre_;
  std::size_t image_floats_, code_size_;
  std::vector<float> chw_, codes_, grey_, colour_, hsv_;
};

/// A method's search: its index, whether it holds views (engine/photo_views.h: views_per_item index
/// ids per item, folded back to items), and the buffer its query vectors are written to (the first
/// rows are the queries).
struct QueryMethod {
  std::string name;
  const index::ExactIndex* index = nullptr;
  std::size_t views_per_item = 1;
  const std::vector<float>* queries = nullptr;
};

/// The methods both evaluations compare, in report order: "ours (<model> flat)", "ours + views" (when
/// there are views), "grey 16x16", "colour 16x16", "HSV histogram". They point into `setup` and
/// `buffers`, which must outlive them.
std::vector<QueryMethod> query_methods(const QuerySetup& setup, const QueryBuffers& buffers,
                                       const std::string& model);

}  // namespace mystyle::eval
