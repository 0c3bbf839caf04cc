#include "query_pipeline.h"

#include <fmt/format.h>

#include <random>

#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/image/colour_features.h"
#include "mystyle/image/decode.h"
#include "mystyle/nn/context.h"
#include "mystyle/nn/model_file.h"

namespace mystyle::eval {

index::ExactIndex make_index(std::span<const std::int64_t> ids, std::span<const float> vectors,
                             std::size_t dim) {
  index::ExactIndex idx(dim, index::Metric::kCosine);
  idx.add(ids, vectors);
  return idx;
}

QuerySetup load_query_setup(const engine::Workspace& workspace, const std::string& model,
                            std::size_t threads) {
  std::vector<catalog::Item> items = catalog::Catalog(workspace.root()).all_items();
  engine::Embeddings flat = load_checked_embeddings(workspace, model, "flat");
  nn::Model encoder = nn::load_model(workspace.model_file(model));
  encoder.set_serving(true);
  nn::set_num_threads(static_cast<int>(threads));
  image::PreprocessOptions pre;
  pre.image_side_px = encoder.spec().image_side_px;
  engine::SimpleFeatures features =
      engine::load_simple_features(workspace.root(), items, static_cast<int>(threads));

  const auto dim = static_cast<std::size_t>(flat.dim);
  index::ExactIndex ours = make_index(flat.ids, flat.vectors, dim);
  index::ExactIndex grey = make_index(features.ids, features.grey, image::kGreyDim);
  index::ExactIndex colour = make_index(features.ids, features.colour, image::kColourDim);
  index::ExactIndex hsv = make_index(features.ids, features.hsv, image::kHsvDim);
  std::optional<index::ExactIndex> with_views;
  if (const auto views = engine::load_current_views(workspace, model, flat)) {
    const engine::Embeddings merged = engine::merge_views(flat, *views);
    with_views.emplace(make_index(merged.ids, merged.vectors, dim));
  }
  return {std::move(items),    std::move(flat),      std::move(encoder), pre,
          std::move(features), std::move(ours),      std::move(grey),    std::move(colour),
          std::move(hsv),      std::move(with_views)};
}

std::size_t checked_code_size(const QuerySetup& setup, std::string_view evaluation,
                              const std::string& model) {
  const auto code_size = static_cast<std::size_t>(setup.model.feature_size(nn::LatentPooling::kFlat));
  if (code_size != setup.dim())
    throw Error(
        fmt::format("{}: model {} encodes {} numbers per photo but its flat embeddings hold {}; "
                    "run `mystyle embed --model {}`",
                    evaluation, model, code_size, setup.dim(), model));
  return code_size;
}

std::vector<const catalog::Item*> eligible_queries(const QuerySetup& setup, bool all_items,
                                                   std::uint64_t split_seed) {
  std::vector<const catalog::Item*> pool;
  for (const auto& item : setup.items) {
    if (!all_items && !catalog::is_held_out_design(item, split_seed)) continue;
    if (item.image_path && setup.ours.contains(item.id) && setup.grey.contains(item.id))
      pool.push_back(&item);
  }
  return pool;
}

void sample_queries(std::vector<const catalog::Item*>& pool, std::uint64_t seed, std::size_t limit) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = pool.size(); i > 1; --i)
    std::swap(pool[i - 1], pool[static_cast<std::size_t>(rng() % i)]);
  if (limit > 0 && pool.size() > limit) pool.resize(limit);
}

QueryPhotos decode_query_photos(std::span<const catalog::Item* const> pool,
                                const image::PreprocessOptions& pre, std::size_t threads) {
  std::vector<cv::Mat> photos(pool.size());
  parallel_for(pool.size(), threads, [&](std::size_t i) {
    try {
      photos[i] = image::read_image(*pool[i]->image_path, {}, image::decode_min_side_px(pre));
    } catch (const Error&) {
      // left out below
    }
  });
  QueryPhotos kept;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (photos[i].empty()) continue;
    kept.items.push_back(pool[i]);
    kept.photos.push_back(std::move(photos[i]));
  }
  return kept;
}

QueryBuffers::QueryBuffers(std::size_t rows, const image::PreprocessOptions& pre, std::size_t code_size)
    : pre_(pre),
      image_floats_(static_cast<std::size_t>(3 * pre.image_side_px * pre.image_side_px)),
      code_size_(code_size),
      chw_(rows * image_floats_),
      codes_(rows * code_size),
      grey_(rows * image::kGreyDim),
      colour_(rows * image::kColourDim),
      hsv_(rows * image::kHsvDim) {}

void QueryBuffers::fill(std::size_t row, const cv::Mat& rgb) {
  image::preprocess_into(rgb, pre_, {chw_.data() + row * image_floats_, image_floats_});
  image::compute_simple_features(rgb, {grey_.data() + row * image::kGreyDim, image::kGreyDim},
                                 {colour_.data() + row * image::kColourDim, image::kColourDim},
                                 {hsv_.data() + row * image::kHsvDim, image::kHsvDim});
}

cv::Mat QueryBuffers::seen_rgb8(std::size_t row) const {
  return image::rgb8_from_chw({chw_.data() + row * image_floats_, image_floats_}, pre_.image_side_px);
}

void QueryBuffers::encode(nn::Model& model, std::size_t rows) {
  constexpr std::size_t kBatch = 64;
  for (std::size_t first = 0; first < rows; first += kBatch) {
    const std::size_t b = std::min(kBatch, rows - first);
    model.encode({chw_.data() + first * image_floats_, b * image_floats_}, static_cast<int>(b),
                 nn::LatentPooling::kFlat, {codes_.data() + first * code_size_, b * code_size_});
  }
}

std::vector<QueryMethod> query_methods(const QuerySetup& setup, const QueryBuffers& buffers,
                                       const std::string& model) {
  std::vector<QueryMethod> methods{{fmt::format("ours ({} flat)", model), &setup.ours, 1, &buffers.codes()}};
  if (setup.with_views)
    methods.push_back({"ours + views", &*setup.with_views, engine::kViewStride, &buffers.codes()});
  methods.push_back({"grey 16x16", &setup.grey, 1, &buffers.grey()});
  methods.push_back({"colour 16x16", &setup.colour, 1, &buffers.colour()});
  methods.push_back({"HSV histogram", &setup.hsv, 1, &buffers.hsv()});
  return methods;
}

}  // namespace mystyle::eval
