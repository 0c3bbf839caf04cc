#include "mystyle/eval/robustness.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/progress.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/eval/perturb.h"
#include "mystyle/eval/simple_features.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/nn/context.h"
#include "mystyle/nn/model_file.h"

namespace mystyle::eval {
namespace {

/// Runs fn(i) for i in [0, n) on `threads` workers.
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

/// An exact cosine index over rows of `vectors` restricted to `keep` ids.
index::ExactIndex make_index(std::span<const std::int64_t> ids, std::span<const float> vectors,
                             std::size_t dim) {
  index::ExactIndex idx(dim, index::Metric::kCosine);
  idx.add(ids, vectors);
  return idx;
}

// `views_per_item` > 1: the index holds view ids (engine/photo_views.h), folded back to items, an
// item ranking as its closest view, as the recommender does.
RobustnessCell recall(const index::VectorIndex& idx, std::span<const float> queries,
                      std::span<const std::int64_t> truth, std::size_t k, std::size_t threads,
                      std::size_t views_per_item = 1) {
  auto results = idx.search_batch(queries, k * views_per_item, {}, threads);
  if (views_per_item > 1) {
    for (auto& r : results) r = engine::fold_views(r, k);
  }
  RobustnessCell cell;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const auto& r = results[i];
    if (!r.empty() && r.front().id == truth[i]) cell.recall_at_1 += 1;
    if (std::ranges::any_of(r, [&](const index::Neighbor& n) { return n.id == truth[i]; }))
      cell.recall_at_k += 1;
  }
  const double n = static_cast<double>(std::max<std::size_t>(1, truth.size()));
  cell.recall_at_1 /= n;
  cell.recall_at_k /= n;
  return cell;
}

}  // namespace

RobustnessReport run_robustness(const engine::Workspace& workspace, const RobustnessOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.k == 0) throw Error("robustness: k must be at least 1");
  const std::size_t threads = options.threads > 0 ? static_cast<std::size_t>(options.threads)
                                                  : std::max(1u, std::thread::hardware_concurrency());
  RobustnessReport report;
  report.options = options;
  catalog::Catalog cat(workspace.root());
  const std::vector<catalog::Item> items = cat.all_items();
  const engine::Embeddings flat = load_checked_embeddings(workspace, options.model, "flat");
  nn::Model model = nn::load_model(workspace.model_file(options.model));
  nn::set_num_threads(static_cast<int>(threads));
  image::PreprocessOptions pre;
  pre.image_side_px = model.spec().image_side_px;
  const SimpleFeatures features = load_simple_features(workspace.root(), items, static_cast<int>(threads));

  const auto dim = static_cast<std::size_t>(flat.dim);
  const index::ExactIndex ours = make_index(flat.ids, flat.vectors, dim);
  const index::ExactIndex grey = make_index(features.ids, features.grey, kGreyDim);
  const index::ExactIndex colour = make_index(features.ids, features.colour, kColourDim);
  const index::ExactIndex hsv = make_index(features.ids, features.hsv, kHsvDim);
  report.catalog_items = ours.size();
  report.methods = {fmt::format("ours ({} flat)", options.model), "grey 16x16", "colour 16x16",
                    "HSV histogram"};
  // The product's index: the items with their edited views (`mystyle embed` writes them).
  std::optional<index::ExactIndex> with_views;
  if (const auto views = engine::load_current_views(workspace, options.model, flat)) {
    const engine::Embeddings merged = engine::merge_views(flat, *views);
    with_views.emplace(make_index(merged.ids, merged.vectors, dim));
    report.methods.insert(report.methods.begin() + 1, "ours + views");
  }

  // A seeded sample of products that every index holds, of held-out designs unless told otherwise:
  // a learned model has seen the training designs' photos, so only the others measure it fairly.
  std::vector<const catalog::Item*> pool;
  for (const auto& item : items) {
    if (!options.all_items && !catalog::is_held_out_design(item, options.split_seed)) continue;
    if (item.image_path && ours.contains(item.id) && grey.contains(item.id)) pool.push_back(&item);
  }
  report.eligible = pool.size();
  std::mt19937_64 rng(options.seed);
  for (std::size_t i = pool.size(); i > 1; --i)
    std::swap(pool[i - 1], pool[static_cast<std::size_t>(rng() % i)]);
  if (options.limit > 0 && pool.size() > options.limit) pool.resize(options.limit);
  if (pool.empty())
    throw Error(fmt::format("{}: no embedded items with a photo to query among {}", workspace.root().string(),
                            sample_name(options)));

  // The catalog photos, decoded as the query pipeline decodes an upload.
  std::vector<cv::Mat> photos(pool.size());
  parallel_for(pool.size(), threads, [&](std::size_t i) {
    try {
      photos[i] = image::read_image(*pool[i]->image_path, {}, image::decode_min_side_px(pre));
    } catch (const Error&) {
      // left out below
    }
  });
  std::vector<cv::Mat> kept;
  std::vector<std::int64_t> truth;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (photos[i].empty()) continue;
    kept.push_back(std::move(photos[i]));
    truth.push_back(pool[i]->id);
  }
  const std::size_t n = kept.size();
  report.queries = n;

  const std::size_t image_floats = static_cast<std::size_t>(3 * pre.image_side_px * pre.image_side_px);
  const auto feature_size = static_cast<std::size_t>(model.feature_size(nn::LatentPooling::kFlat));
  if (feature_size != dim)
    throw Error(
        fmt::format("robustness: model {} encodes {} numbers per photo but its flat embeddings hold {}; "
                    "run `mystyle embed --model {}`",
                    options.model, feature_size, dim, options.model));
  std::vector<float> chw(n * image_floats), codes(n * feature_size), g(n * kGreyDim), c(n * kColourDim),
      h(n * kHsvDim);
  Progress progress("robustness queries", static_cast<std::int64_t>(n * std::size(kAllPerturbations)),
                    "photos");
  for (const Perturbation p : kAllPerturbations) {
    parallel_for(n, threads, [&](std::size_t i) {
      const cv::Mat query = perturb(kept[i], p);
      image::preprocess_into(query, pre, {chw.data() + i * image_floats, image_floats});
      compute_simple_features(query, {g.data() + i * kGreyDim, kGreyDim},
                              {c.data() + i * kColourDim, kColourDim}, {h.data() + i * kHsvDim, kHsvDim});
      progress.advance();
    });
    constexpr std::size_t kBatch = 64;
    for (std::size_t first = 0; first < n; first += kBatch) {
      const std::size_t b = std::min(kBatch, n - first);
      model.encode({chw.data() + first * image_floats, b * image_floats}, static_cast<int>(b),
                   nn::LatentPooling::kFlat, {codes.data() + first * feature_size, b * feature_size});
    }
    report.perturbations.push_back(perturbation_name(p));
    std::vector<RobustnessCell> cells{recall(ours, codes, truth, options.k, threads)};
    if (with_views) {
      cells.push_back(recall(*with_views, codes, truth, options.k, threads, engine::kViewStride));
    }
    for (const RobustnessCell& cell :
         {recall(grey, g, truth, options.k, threads), recall(colour, c, truth, options.k, threads),
          recall(hsv, h, truth, options.k, threads)}) {
      cells.push_back(cell);
    }
    report.cells.push_back(std::move(cells));
  }
  progress.finish();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string sample_name(const RobustnessOptions& options) {
  return options.all_items ? std::string("all items")
                           : fmt::format("held-out designs (split seed {})", options.split_seed);
}

nlohmann::json to_json(const RobustnessReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t p = 0; p < report.perturbations.size(); ++p) {
    nlohmann::json cells = nlohmann::json::object();
    for (std::size_t m = 0; m < report.methods.size(); ++m) {
      cells[report.methods[m]] = {{"recall_at_1", report.cells[p][m].recall_at_1},
                                  {"recall_at_k", report.cells[p][m].recall_at_k}};
    }
    rows.push_back({{"perturbation", report.perturbations[p]}, {"methods", cells}});
  }
  return {
      {"kind", "robustness"},
      {"model", report.options.model},
      {"k", report.options.k},
      {"seed", report.options.seed},
      {"sample", report.options.all_items ? "all items" : "held-out designs"},
      {"split_seed", report.options.all_items ? nlohmann::json() : nlohmann::json(report.options.split_seed)},
      {"eligible_items", report.eligible},
      {"queries", report.queries},
      {"catalog_items", report.catalog_items},
      {"metric", "cosine"},
      {"methods", report.methods},
      {"rows", rows},
      {"seconds", report.seconds}};
}

std::string format_table(const RobustnessReport& report) {
  std::string out = fmt::format(
      "robustness: {} products sampled (seed {}) among {} eligible items: {}; each perturbed and "
      "searched among all {} catalog items (cosine); recall@1 / recall@{} of the product itself\n",
      report.queries, report.options.seed, report.eligible, sample_name(report.options), report.catalog_items,
      report.options.k);
  out += fmt::format("{:<22}", "perturbation");
  for (const auto& m : report.methods) out += fmt::format(" | {:^15}", m.substr(0, 15));
  out += "\n";
  for (std::size_t p = 0; p < report.perturbations.size(); ++p) {
    out += fmt::format("{:<22}", report.perturbations[p]);
    for (const auto& cell : report.cells[p])
      out += fmt::format(" | {:>6.3f} / {:>5.3f}", cell.recall_at_1, cell.recall_at_k);
    out += "\n";
  }
  return out;
}

}  // namespace mystyle::eval
