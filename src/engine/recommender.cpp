#include "mystyle/engine/recommender.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <set>

#include "mystyle/core/base64.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/colour_query.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/index/id_filter.h"
#include "mystyle/index/layered_index.h"
#include "mystyle/nn/context.h"

namespace mystyle::engine {
namespace {

using Clock = std::chrono::steady_clock;

// Pairs sampled per kind for match strengths (~3 ms at 128-D when the recommender opens).
constexpr std::size_t kCalibrationPairs = 20000;
constexpr std::uint64_t kCalibrationSeed = 1;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

nlohmann::json box_json(const image::CropBox& b) {
  return {{"x", b.x}, {"y", b.y}, {"width", b.width}, {"height", b.height}};
}

/// JSON has no infinity: Euclidean's 1/d at d = 0 is reported as null beside distance 0.
nlohmann::json score_json(double score) {
  return std::isfinite(score) ? nlohmann::json(score) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json item_json(const catalog::Item& item) {
  return {{"item_id", item.id},
          {"source", item.source},
          {"source_id", item.source_id},
          {"name", item.name},
          {"category", item.category},
          {"family", item.family},
          {"type", item.type},
          {"colour", item.colour},
          {"colour_name", item.colour_name},
          {"colour_family", item.colour_family},
          {"slot", catalog::slot_name(item.slot)},
          {"shop_url", item.shop_url},
          {"image_url", item.image_path ? nlohmann::json(fmt::format("/images/items/{}", item.id))
                                        : nlohmann::json(nullptr)}};
}

std::unique_ptr<Recommender> Recommender::open(const Workspace& workspace, const RecommenderConfig& config) {
  auto [model, source_hash] = load_embedding_model(workspace, config.model);
  if (config.fold_edit_log) {
    const auto file = workspace.embeddings_file(config.model, pooling_name(config.pooling));
    try {
      if (fold_embedding_log(file, workspace.write_lock_file()))
        spdlog::info("{}: its edit log changed its rows; folded into it (served from the mapping)", file.string());
    } catch (const Error& e) {
      spdlog::warn("{}: the edit log could not be folded ({}); its rows are served from a copy", file.string(),
                   e.what());
    }
  }
  // Mapped, not copied: a start reads the ids, the pages the calibration samples and, when the saved
  // index is not current, the rows it lacks (docs/benchmarks.md, "A million items").
  MappedEmbeddings mapped = map_current_embeddings(workspace, config.model, config.pooling, source_hash,
                                                   MappedEmbeddings::Checksum::kLater);
  const EmbeddingsView embeddings = mapped.view();
  // The embeddings' checksum and the index (loaded, or brought in line and saved) on a second thread
  // while the catalog loads: at a million items about 5 s (1 s and the HNSW index's 4 s) beside the
  // catalog's 6 s, which a start did one after the other. The index is not touched before the
  // checksum has passed, so a damaged file never reaches it.
  std::optional<Embeddings> views;  // the items' edited views, when embedded for this very model file
  std::string stale_views;
  auto index_job = std::async(std::launch::async, [&]() -> IndexSync {
    mapped.verify();
    if (config.use_views) views = load_current_views(workspace, config.model, embeddings, &stale_views);
    return views ? sync_index(workspace, config.model + "-views", merge_views(embeddings, *views),
                              config.index, config.hnsw_metric)
                 : sync_index(workspace, config.model, embeddings, config.index, config.hnsw_metric);
  });
  // Should the catalog not load, unwinding destroys the job's future, which waits for it (std::async's
  // does): its references into this frame stay valid.
  catalog::Catalog cat(workspace.root());
  recommend::OutfitGraph graph = recommend::OutfitGraph::load(cat);
  IndexSync sync = index_job.get();
  if (!stale_views.empty()) spdlog::warn("{}; not used", stale_views);
  std::vector<std::string> types(embeddings.size());
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    if (const catalog::Item* item = graph.item(embeddings.ids[i])) types[i] = item->type;
  }
  MatchCalibration calibration =
      MatchCalibration::build(embeddings.vectors, static_cast<std::size_t>(embeddings.dim), types,
                              kCalibrationPairs, kCalibrationSeed);
  auto recommender = std::unique_ptr<Recommender>(new Recommender());
  Recommender& r = *recommender;
  r.graph_ = std::move(graph);
  r.encoder_ = std::make_shared<Encoder>(std::move(model));
  r.encoder_->model.set_serving(true);
  r.index_ = std::move(sync.index);
  r.config_ = config;
  r.preprocess_.image_side_px = r.encoder_->model.spec().image_side_px;
  r.views_per_item_ = views ? static_cast<int>(kViewStride) : 1;
  r.calibration_ = std::make_shared<const MatchCalibration>(std::move(calibration));
  // The checksum's pass and the calibration's sample made much of the file resident; serving reads a
  // row here and there (item_embedding): 520 MB of RSS at a million items that the page cache keeps
  // anyway.
  mapped.release_resident();
  r.embeddings_ = std::make_shared<const MappedEmbeddings>(std::move(mapped));
  r.added_vectors_ = std::make_shared<const AddedVectors>();
  std::set<std::string> categories;
  for (const auto& item : r.graph_.items()) categories.insert(item.category);
  r.categories_.assign(categories.begin(), categories.end());
  r.source_hash_ = source_hash;
  if (config.use_colour_model && config.pooling == nn::LatentPooling::kFlat) {
    std::string stale;
    auto attributes = load_current_attribute_model(workspace, source_hash, &stale);
    if (attributes) r.attributes_ = std::make_shared<const AttributeModel>(std::move(*attributes));
    if (!stale.empty()) spdlog::warn("{}; photos are ranked by cosine alone", stale);
  }
  return recommender;
}

RecommendResult Recommender::recommend_file(const std::filesystem::path& photo,
                                            const RecommendRequest& request) {
  const std::string bytes = read_file_bytes(photo, config_.limits.max_bytes);
  return recommend({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, photo.string(),
                   request);
}

cv::Mat Recommender::decode(std::span<const std::uint8_t> image_bytes, const std::string& name) const {
  return image::decode_image(image_bytes, name, config_.limits, decode_min_side_px());
}

int Recommender::decode_min_side_px() const { return image::decode_min_side_px(preprocess_); }

std::span<const float> Recommender::item_embedding(std::int64_t item_id) const {
  if (edits_applied_ != 0) {
    if (graph_.item(item_id) == nullptr) return {};  // removed
    if (auto it = added_vectors_->find(item_id); it != added_vectors_->end()) return it->second;
  }
  const EmbeddingsView e = embeddings_->view();
  const auto it = std::ranges::lower_bound(e.ids, item_id);
  if (it == e.ids.end() || *it != item_id) return {};
  return e.row(static_cast<std::size_t>(it - e.ids.begin()));
}

std::shared_ptr<Recommender> Recommender::with_edits(const RecommenderEdits& edits) const {
  const std::size_t dim = index_->dim();
  const std::size_t code_dim = embeddings_->view().dim > 0 ? static_cast<std::size_t>(embeddings_->view().dim) : dim;
  if (edits.vectors.size() != edits.added.size() * code_dim) {
    throw Error(fmt::format("live edit: {} floats for {} items of {} numbers", edits.vectors.size(),
                            edits.added.size(), code_dim),
                ErrorKind::kInvalidInput);
  }
  if (edits.reopen) throw Error("live edit: the edits ask for a reopen", ErrorKind::kInvalidInput);
  const bool views = views_per_item_ > 1;
  if (views && edits.view_vectors.size() != edits.added.size() * kEditedViews * code_dim) {
    throw Error(fmt::format("live edit: {} view floats for {} items with {} views of {} numbers",
                            edits.view_vectors.size(), edits.added.size(), kEditedViews, code_dim),
                ErrorKind::kInvalidInput);
  }
  // The index's ids: the item's, or with views each of its kViewStride entries.
  std::vector<std::int64_t> removed_ids, added_ids;
  std::vector<float> added_rows;
  auto index_ids = [&](std::int64_t item, std::vector<std::int64_t>& out) {
    if (!views) {
      out.push_back(item);
      return;
    }
    for (int v = 0; v < views_per_item_; ++v) out.push_back(view_id(item, v));
  };
  for (const std::int64_t id : edits.removed) index_ids(id, removed_ids);
  for (std::size_t i = 0; i < edits.added.size(); ++i) {
    index_ids(edits.added[i].id, added_ids);
    const float* row = edits.vectors.data() + i * code_dim;
    added_rows.insert(added_rows.end(), row, row + code_dim);
    if (views) {
      const float* v = edits.view_vectors.data() + i * kEditedViews * code_dim;
      added_rows.insert(added_rows.end(), v, v + kEditedViews * code_dim);
    }
  }

  auto next = std::shared_ptr<Recommender>(new Recommender());
  Recommender& r = *next;
  const auto* layered = dynamic_cast<const index::LayeredIndex*>(index_.get());
  r.index_ = layered ? layered->with_edits(removed_ids, added_ids, added_rows)
                     : index::LayeredIndex(index_).with_edits(removed_ids, added_ids, added_rows);
  r.graph_ = graph_.with_edits({edits.added, edits.removed, edits.added_outfits, edits.removed_outfits});
  r.encoder_ = encoder_;
  r.config_ = config_;
  r.preprocess_ = preprocess_;
  r.views_per_item_ = views_per_item_;
  r.calibration_ = calibration_;
  r.embeddings_ = embeddings_;
  auto added = std::make_shared<AddedVectors>(*added_vectors_);
  for (const std::int64_t id : edits.removed) added->erase(id);
  for (std::size_t i = 0; i < edits.added.size(); ++i) {
    const float* row = edits.vectors.data() + i * code_dim;
    (*added)[edits.added[i].id] = std::vector<float>(row, row + code_dim);
  }
  r.added_vectors_ = std::move(added);
  r.source_hash_ = source_hash_;
  r.attributes_ = attributes_;
  // Categories: the loaded ones and the added items'; one emptied by deletions stays (a filter on it
  // finds nothing) until the next full reload.
  std::set<std::string> categories(categories_.begin(), categories_.end());
  for (const catalog::Item& item : edits.added) categories.insert(item.category);
  r.categories_.assign(categories.begin(), categories.end());
  r.edits_applied_ = edits_applied_ + edits.added.size() + edits.removed.size() + edits.added_outfits.size() +
                     edits.removed_outfits.size();
  return next;
}

void RecommenderEdits::append(RecommenderEdits later) {
  // An item removed later loses its earlier add; one added later replaces an earlier row.
  const auto code = added.empty() ? 0 : vectors.size() / added.size();
  const auto view = added.empty() ? 0 : view_vectors.size() / added.size();
  auto drop_added = [&](std::int64_t id) {
    for (std::size_t i = added.size(); i-- > 0;) {
      if (added[i].id != id) continue;
      added.erase(added.begin() + static_cast<std::ptrdiff_t>(i));
      vectors.erase(vectors.begin() + static_cast<std::ptrdiff_t>(i * code),
                    vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * code));
      if (view != 0) {
        view_vectors.erase(view_vectors.begin() + static_cast<std::ptrdiff_t>(i * view),
                           view_vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * view));
      }
    }
  };
  for (const std::int64_t id : later.removed) drop_added(id);
  for (const catalog::Item& item : later.added) drop_added(item.id);
  removed.insert(removed.end(), later.removed.begin(), later.removed.end());
  if (view_vectors.empty() && !added.empty() && !later.view_vectors.empty()) reopen = true;  // views for some only
  added.insert(added.end(), later.added.begin(), later.added.end());
  vectors.insert(vectors.end(), later.vectors.begin(), later.vectors.end());
  view_vectors.insert(view_vectors.end(), later.view_vectors.begin(), later.view_vectors.end());
  for (const std::int64_t id : later.removed_outfits)
    std::erase_if(added_outfits, [&](const catalog::Outfit& o) { return o.id == id; });
  for (const catalog::Outfit& o : later.added_outfits)
    std::erase_if(added_outfits, [&](const catalog::Outfit& x) { return x.id == o.id; });
  removed_outfits.insert(removed_outfits.end(), later.removed_outfits.begin(), later.removed_outfits.end());
  added_outfits.insert(added_outfits.end(), later.added_outfits.begin(), later.added_outfits.end());
  reopen = reopen || later.reopen;
}

void RecommendRequest::validate() const {
  if (k == 0 || k > kMaxK) {
    throw Error(fmt::format("k must be between 1 and {}, not {}", kMaxK, k), ErrorKind::kInvalidInput);
  }
  if (max_outfits > kMaxOutfits) {
    throw Error(fmt::format("outfits must be between 0 and {}, not {}", kMaxOutfits, max_outfits),
                ErrorKind::kInvalidInput);
  }
  if (colour_family) require_colour_family(*colour_family, "colour");
}

void Recommender::check(const RecommendRequest& request) const {
  request.validate();
  if (request.category && !std::ranges::binary_search(categories_, *request.category)) {
    throw Error(fmt::format("unknown category '{}'", *request.category), ErrorKind::kNotFound);
  }
}

RecommendResult Recommender::recommend(std::span<const std::uint8_t> image_bytes, const std::string& name,
                                       const RecommendRequest& request) {
  check(request);  // before decoding: a bad request costs no decode
  const auto t = Clock::now();
  const cv::Mat rgb = decode(image_bytes, name);
  const double decode_ms = ms_since(t);
  RecommendResult result = recommend_checked(rgb, name, request);
  result.decode_ms += decode_ms;
  return result;
}

RecommendResult Recommender::recommend(const cv::Mat& rgb, const std::string& name,
                                       const RecommendRequest& request) {
  check(request);
  return recommend_checked(rgb, name, request);
}

RecommendResult Recommender::recommend_checked(const cv::Mat& rgb, const std::string& name,
                                               const RecommendRequest& request) {
  // One photo is one image: a single thread encodes it fastest, and a server answers many photos on
  // many threads; an OpenMP team per server thread would oversubscribe the cores (and spin).
  nn::set_num_threads(1);
  RecommendResult result;
  result.query_name = name;
  auto t = Clock::now();
  result.query = image::preprocess(rgb, preprocess_);
  result.decode_ms = ms_since(t);

  t = Clock::now();
  std::vector<float> feature(static_cast<std::size_t>(encoder_->model.feature_size(config_.pooling)));
  {
    std::lock_guard lock(encoder_->mutex);
    encoder_->model.encode(result.query.chw, 1, config_.pooling, feature);
  }
  result.encode_ms = ms_since(t);
  result.embedding = feature;
  if (attributes_) result.attributes = attributes_->predict(result.query.seen_rgb8, feature);
  // The colour model reorders the cosine ranking's first candidates (attributes.h), when its read-out of
  // the photo passes the confidence gate; else the cosine order is served as it is.
  const bool rerank_by_colour = result.attributes && request.metric == index::Metric::kCosine &&
                                reorders(*result.attributes, attributes_->weights);
  const std::size_t fetch = rerank_by_colour ? std::max(request.k, attributes_->candidates) : request.k;

  t = Clock::now();
  index::SearchParams params;
  params.metric = request.metric;
  std::optional<index::IdFilter> filter;
  const bool views = views_per_item_ > 1;
  if (request.category || request.similar_slot || request.colour_family) {
    std::vector<std::int64_t> ids;
    for (const auto& item : graph_.items()) {
      if (request.category && item.category != *request.category) continue;
      if (request.similar_slot && item.slot != *request.similar_slot) continue;
      if (request.colour_family && item.colour_family != *request.colour_family) continue;
      if (!views) {
        ids.push_back(item.id);
        continue;
      }
      for (int v = 0; v < views_per_item_; ++v) ids.push_back(view_id(item.id, v));
    }
    filter = index::IdFilter::allow_only(std::move(ids));
    params.filter = &*filter;
  }
  // With views, each item can fill up to views_per_item_ places: fetch enough, keep each item's best.
  std::vector<index::Neighbor> neighbors =
      index_->search(feature, fetch * static_cast<std::size_t>(views_per_item_), params);
  std::vector<int> matched_views(neighbors.size(), 0);
  if (views) neighbors = fold_views(neighbors, fetch, &matched_views);
  if (rerank_by_colour) {
    const std::size_t n = neighbors.size();
    std::vector<double> scores(n);
    std::vector<int> families(n, -1), types(n, -1);
    for (std::size_t i = 0; i < n; ++i) {
      scores[i] = neighbors[i].score;
      if (const catalog::Item* item = graph_.item(neighbors[i].id)) {
        families[i] = attributes_->family_code(item->colour_family);
        types[i] = attributes_->type_code(item->type);
      }
    }
    const std::vector<std::size_t> order =
        rerank(*result.attributes, scores, families, types, attributes_->weights, request.k);
    std::vector<index::Neighbor> kept;
    std::vector<int> kept_views;
    kept.reserve(order.size());
    kept_views.reserve(order.size());
    for (std::size_t i : order) {
      kept.push_back(neighbors[i]);
      kept_views.push_back(matched_views[i]);
    }
    neighbors = std::move(kept);
    matched_views = std::move(kept_views);
    result.reranked = true;
  }
  result.search_ms = ms_since(t);

  t = Clock::now();
  const bool inverse_distance = request.metric == index::Metric::kEuclidean;
  std::vector<recommend::SimilarItem> similar;
  for (std::size_t i = 0; i < neighbors.size(); ++i) {
    const index::Neighbor& n = neighbors[i];
    const catalog::Item* item = graph_.item(n.id);
    if (item == nullptr) continue;  // embedded, then removed from the catalog
    const double relevance = recommend::relevance_from(n.score, inverse_distance);
    SimilarResult r{item, n.score, relevance, matched_views[i], std::nullopt};
    if (request.metric == index::Metric::kCosine && calibration_->ready())
      r.match = calibration_->strength(n.score);
    result.similar.push_back(std::move(r));
    similar.push_back({n.id, n.score, relevance});
  }
  recommend::CoordinationOptions options;
  options.mode = request.mode;
  options.max_outfits = request.max_outfits;
  result.query_slot = request.slot;
  if (!result.query_slot && !result.similar.empty()) result.query_slot = result.similar.front().item->slot;
  if (request.same_slot) options.query_slot = result.query_slot;
  result.outfits = recommend::coordinate_outfits(graph_, similar, options);
  result.outfits_ms = ms_since(t);
  return result;
}

nlohmann::json Recommender::similar_json(const RecommendResult& r, const RecommendRequest& request) const {
  nlohmann::json similar = nlohmann::json::array();
  for (std::size_t i = 0; i < r.similar.size(); ++i) {
    nlohmann::json s = item_json(*r.similar[i].item);
    s["rank"] = i + 1;
    s["score"] = score_json(r.similar[i].score);
    s["relevance"] = r.similar[i].relevance;
    s["matched_view"] = view_name(r.similar[i].view);
    if (const auto& m = r.similar[i].match) {
      s["match"] = {{"label", m->label},
                    {"same_type_percentile", m->same_type_percentile},
                    {"random_percentile", m->random_percentile}};
    } else {
      s["match"] = nullptr;
    }
    if (request.metric == index::Metric::kEuclidean) s["distance"] = 1.0 / r.similar[i].score;
    similar.push_back(std::move(s));
  }
  return similar;
}

nlohmann::json Recommender::outfits_json(const RecommendResult& r) const {
  nlohmann::json outfits = nlohmann::json::array();
  for (std::size_t i = 0; i < r.outfits.size(); ++i) {
    const auto& o = r.outfits[i];
    const catalog::Outfit& outfit = *graph_.outfit(o.outfit_id);
    nlohmann::json matched = nlohmann::json::array();
    for (const auto& m : o.matches) {
      nlohmann::json j = item_json(*graph_.item(m.item_id));
      j["outfit_slot"] = catalog::slot_name(m.slot);
      j["similar_rank"] = m.rank + 1;
      j["score"] = score_json(m.similarity);
      matched.push_back(std::move(j));
    }
    nlohmann::json pieces = nlohmann::json::array();
    for (const auto& piece : o.others) {
      const catalog::Item* item = graph_.item(piece.item_id);
      if (item == nullptr) continue;
      nlohmann::json j = item_json(*item);
      j["outfit_slot"] = catalog::slot_name(piece.slot);
      if (pieces.empty() || pieces.back()["slot"] != catalog::slot_name(piece.slot)) {
        pieces.push_back({{"slot", catalog::slot_name(piece.slot)}, {"items", nlohmann::json::array()}});
      }
      pieces.back()["items"].push_back(std::move(j));
    }
    outfits.push_back({{"rank", i + 1},
                       {"outfit_id", o.outfit_id},
                       {"source_id", outfit.source_id},
                       {"score", o.score},
                       {"has_photo", outfit.photo_path.has_value()},
                       {"matched", std::move(matched)},
                       {"other_pieces", std::move(pieces)}});
  }
  return outfits;
}

nlohmann::json Recommender::to_json(const RecommendResult& r, const RecommendRequest& request,
                                    bool include_seen_image) const {
  nlohmann::json similar = similar_json(r, request);
  nlohmann::json outfits = outfits_json(r);
  nlohmann::json doc = {
      {"query",
       {{"name", r.query_name},
        {"model", config_.model},
        {"pooling", pooling_name(config_.pooling)},
        {"metric", index::metric_name(request.metric)},
        {"k", request.k},
        {"max_outfits", request.max_outfits},
        {"mode", request.mode == recommend::CoordinationMode::kRanked ? "ranked" : "seed"},
        {"category", request.category ? nlohmann::json(*request.category) : nlohmann::json(nullptr)},
        {"colour", request.colour_family ? nlohmann::json(*request.colour_family) : nlohmann::json(nullptr)},
        {"same_slot", request.same_slot},
        {"similar_slot", request.similar_slot ? nlohmann::json(catalog::slot_name(*request.similar_slot))
                                              : nlohmann::json(nullptr)},
        {"slot", r.query_slot ? nlohmann::json(catalog::slot_name(*r.query_slot)) : nlohmann::json(nullptr)},
        {"object_box", box_json(r.query.object_box)},
        {"crop_box", box_json(r.query.crop_box)},
        {"background_painted", r.query.background_painted},
        {"colour_family", r.attributes ? nlohmann::json(r.attributes->colour_family) : nlohmann::json(nullptr)},
        {"colour_confidence", r.attributes ? nlohmann::json(r.attributes->colour_confidence) : nlohmann::json(nullptr)},
        {"ordered_by_colour_model", r.reranked}}},
      {"similar", std::move(similar)},
      {"outfits", std::move(outfits)},
      {"timings_ms",
       {{"decode_preprocess", r.decode_ms},
        {"encode", r.encode_ms},
        {"search", r.search_ms},
        {"outfits", r.outfits_ms},
        {"total", r.decode_ms + r.encode_ms + r.search_ms + r.outfits_ms}}}};
  if (include_seen_image) {
    cv::Mat bgr;
    cv::cvtColor(r.query.seen_rgb8, bgr, cv::COLOR_RGB2BGR);
    std::vector<std::uint8_t> png;
    cv::imencode(".png", bgr, png);
    doc["query"]["seen_image"] =
        "data:image/png;base64," + base64_encode({reinterpret_cast<const char*>(png.data()), png.size()});
  }
  return doc;
}

}  // namespace mystyle::engine
