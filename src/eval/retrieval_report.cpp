// Running every retrieval method on a workspace's catalog and reporting it (retrieval.h): the
// measures themselves are in retrieval.cpp, the pair similarity in similarity.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <map>
#include <optional>
#include <thread>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/attributes.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/image_cache.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/engine/simple_features.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/eval/retrieval.h"

namespace mystyle::eval {
namespace {

/// What a method's vectors are, for the best-baseline comparison and the similarity plot.
enum class Role {
  kBaseline,  ///< uses no trained model
  kModel,     ///< another feature of the model (its channel means)
  kOurs,      ///< the model's served code
};

/// A method's vectors for the evaluated items: row i belongs to the i-th evaluated item.
struct Method {
  std::string name;
  std::vector<float> vectors;
  std::size_t dim;
  Role role;
};

/// The model's mean-pooled embeddings, or nothing with the reason in `notes`: when they are missing
/// or stale, and when the latent is a vector (a 1x1 map), whose channel means are its flat code.
std::optional<engine::Embeddings> load_channel_means(const engine::Workspace& workspace,
                                                     const std::string& name,
                                                     const engine::EmbeddingModel& model,
                                                     std::vector<std::string>& notes) {
  const nn::TensorShape latent = model.model.latent_shape();
  if (latent.height * latent.width == 1) {
    notes.push_back(
        fmt::format("channel means left out: {}'s latent is a vector of {}, whose channel means "
                    "are its flat code",
                    name, latent.channels));
    return std::nullopt;
  }
  try {
    return engine::load_current_embeddings(workspace, name, nn::LatentPooling::kMean, model.source_hash);
  } catch (const Error& e) {
    notes.push_back(fmt::format("channel means left out: {}", e.what()));
    return std::nullopt;
  }
}

/// The edited views of the items `ids` (kEditedViews rows per item; an item without a view
/// repeats `own`, its flat code), or nothing when there are no current views (stale: a note).
std::vector<float> edited_view_rows(const engine::Workspace& workspace, const std::string& model,
                                    const engine::Embeddings& flat, std::span<const std::int64_t> ids,
                                    std::span<const float> own, std::vector<std::string>& notes) {
  std::string stale;
  const auto views = engine::load_current_views(workspace, model, flat, &stale);
  if (!views) {
    if (!stale.empty()) notes.push_back(stale + "; left out");
    return {};
  }
  const auto dim = static_cast<std::size_t>(flat.dim);
  std::vector<float> rows(ids.size() * engine::kEditedViews * dim, 0.0f);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    for (int v = 1; v <= engine::kEditedViews; ++v) {
      float* out = rows.data() + (i * engine::kEditedViews + static_cast<std::size_t>(v - 1)) * dim;
      const auto it = std::ranges::lower_bound(views->ids, engine::view_id(ids[i], v));
      if (it != views->ids.end() && *it == engine::view_id(ids[i], v)) {
        std::ranges::copy(views->row(static_cast<std::size_t>(it - views->ids.begin())), out);
      } else {
        std::copy_n(own.begin() + static_cast<std::ptrdiff_t>(i * dim), dim, out);  // no view
      }
    }
  }
  return rows;
}

/// Every vector method's cosine similarity over one set of pairs of the items.
SimilarityComparison compare_similarity(std::span<const Method> methods, const ItemLabels& labels,
                                        const RetrievalOptions& options) {
  std::vector<int> types;
  for (const auto& codes : labels.codes) types.push_back(codes[0]);
  const SimilarityPairs pairs = make_similarity_pairs(types, options.similarity_pairs, options.seed);
  SimilarityComparison comparison = describe_pairs(pairs, options.seed);
  for (const Method& m : methods) {
    comparison.features.push_back(similarity_distribution(m.name, m.vectors, m.dim, pairs));
    comparison.features.back().ours = m.role == Role::kOurs;
  }
  return comparison;
}

std::string protocol_description(const RetrievalReport& report) {
  if (report.options.protocol == RetrievalProtocol::kAll) {
    return fmt::format(
        "all items: {} items of {} designs, each a query against all the others (leave-one-out)",
        report.items, report.designs);
  }
  return fmt::format(
      "held-out designs (split seed {}): {} items of {} designs, each a query against the other items of "
      "held-out designs",
      report.options.split_seed, report.items, report.designs);
}

/// {"precision_at_1": {label: v}, "precision_at_k": {label: v}, "map_type": v} of per-column values.
template <typename T>
nlohmann::json columns_json(const std::array<T, kColumnCount>& values) {
  nlohmann::json p1, pk;
  for (std::size_t l = 0; l < kLabelCount; ++l) {
    p1[kLabelNames[l]] = values[l];
    pk[kLabelNames[l]] = values[kLabelCount + l];
  }
  return {{"precision_at_1", p1}, {"precision_at_k", pk}, {"map_type", values[2 * kLabelCount]}};
}

/// Per column, whether `row` beats `best` (strictly).
std::array<bool, kColumnCount> beats(const RetrievalRow& row, const BestBaseline& best) {
  const auto values = row_columns(row);
  std::array<bool, kColumnCount> out{};
  for (std::size_t c = 0; c < kColumnCount; ++c)
    out[c] = !best.methods[c].empty() && values[c] > best.values[c];
  return out;
}

}  // namespace

namespace {

/// The ranking the product serves with a colour model: each item's cosine neighbours among `ids`, the
/// first colour.candidates reordered by the colour model's reading of the item's own photo (the
/// cached image the model saw, as a query's seen_rgb8) and the neighbours' catalog family and type.
RetrievalRow evaluate_colour_model(const std::string& name, const engine::AttributeModel& colour, const engine::Workspace& workspace,
                                   const std::vector<catalog::Item>& items, const engine::EmbeddingModel& model,
                                   std::span<const std::int64_t> ids, const engine::Embeddings& flat,
                                   const ItemLabels& labels, std::size_t k, std::size_t threads,
                                   std::vector<std::string>& notes) {
  image::PreprocessOptions pre;
  pre.image_side_px = model.model.spec().image_side_px;
  const engine::ImageCache cache = engine::ImageCache::build(workspace.root(), items, pre, static_cast<int>(threads));
  const nn::ImageSet images = cache.images();
  const auto dim = static_cast<std::size_t>(flat.dim);
  const std::vector<float> codes = select_rows(flat.ids, flat.vectors, dim, ids);
  std::vector<float> colour_rows;
  std::vector<int> families, types;
  const int side = images.side_px();
  std::vector<float> chw(static_cast<std::size_t>(3 * side * side));
  std::map<std::int64_t, const catalog::Item*> by_id;
  for (const catalog::Item& item : items) by_id[item.id] = &item;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto it = std::ranges::lower_bound(cache.item_ids(), ids[i]);
    if (it == cache.item_ids().end() || *it != ids[i]) {
      throw Error(fmt::format("retrieval: item {} has an embedding but no cached photo; run `mystyle embed`", ids[i]));
    }
    const auto index = static_cast<std::uint32_t>(it - cache.item_ids().begin());
    images.gather({&index, 1}, chw);
    const std::vector<float> in =
        engine::AttributeModel::colour_input(image::rgb8_from_chw(chw, side), std::span(codes).subspan(i * dim, dim));
    colour_rows.insert(colour_rows.end(), in.begin(), in.end());
    const catalog::Item& item = *by_id.at(ids[i]);
    families.push_back(colour.family_code(item.colour_family));
    types.push_back(colour.type_code(item.type));
  }
  const std::vector<engine::PhotoAttributes> photos = colour.predict_rows(colour_rows, codes);
  std::size_t family_right = 0, family_asked = 0, type_right = 0, type_asked = 0;
  for (std::size_t i = 0; i < photos.size(); ++i) {
    const catalog::Item& item = *by_id.at(ids[i]);
    if (!item.colour_family.empty()) ++family_asked, family_right += photos[i].colour_family == item.colour_family;
    if (!item.type.empty()) ++type_asked, type_right += photos[i].type_name == item.type;
  }
  notes.push_back(fmt::format("the colour model names the colour family of {} of {} photos right ({:.3f}) and the "
                              "type of {} of {} ({:.3f})",
                              family_right, family_asked, static_cast<double>(family_right) / std::max<std::size_t>(1, family_asked),
                              type_right, type_asked, static_cast<double>(type_right) / std::max<std::size_t>(1, type_asked)));
  const auto passed = std::ranges::count_if(
      photos, [&](const engine::PhotoAttributes& p) { return engine::reorders(p, colour.weights); });
  notes.push_back(fmt::format(
      "the colour model's confidence gate ({} >= {}) lets {} of {} photos be reordered; "
      "the others keep the cosine order",
      engine::gate_on_name(colour.weights.gate_on), colour.weights.min_confidence, passed, photos.size()));
  // Every other item by cosine, then the head reordered.
  const auto full = engine::leave_one_out_candidates(codes, dim, ids.size());
  std::vector<std::vector<std::pair<std::size_t, double>>> heads(full.size());
  for (std::size_t i = 0; i < full.size(); ++i)
    heads[i].assign(full[i].begin(), full[i].begin() + static_cast<std::ptrdiff_t>(std::min(colour.candidates, full[i].size())));
  const auto reordered = engine::rerank_lists(heads, photos, families, types, colour.weights, colour.candidates);
  std::vector<std::vector<std::size_t>> ranked(full.size());
  for (std::size_t i = 0; i < full.size(); ++i) {
    ranked[i] = reordered[i];
    for (std::size_t r = heads[i].size(); r < full[i].size(); ++r) ranked[i].push_back(full[i][r].first);
  }
  return evaluate_rankings(fmt::format("{} + colour model (served)", name), "cosine",
                           ranked, labels, k);
}

}  // namespace

RetrievalReport run_retrieval(const engine::Workspace& workspace, const RetrievalOptions& options) {
  RetrievalReport report;
  report.options = options;
  const std::size_t threads = eval_threads(options.threads);
  const FlatEvalInputs in = load_flat_eval_inputs(workspace, options.model, threads);
  const auto& [items, model, flat, features] = in;
  const auto means = load_channel_means(workspace, options.model, model, report.notes);
  for (const auto& w : features.warnings) report.notes.push_back("photo left out: " + w);

  // The same items for every method: the protocol's, with a photo, simple features and every embedding.
  std::vector<std::int64_t> ids;
  std::vector<const catalog::Item*> chosen;
  for (const catalog::Item* item : protocol_items(items, options.protocol, options.split_seed)) {
    const bool in_all = std::ranges::binary_search(features.ids, item->id) &&
                        std::ranges::binary_search(flat.ids, item->id) &&
                        (!means || std::ranges::binary_search(means->ids, item->id));
    if (!in_all) continue;
    ids.push_back(item->id);
    chosen.push_back(item);
  }
  if (ids.size() < 2) {
    throw Error(fmt::format("{}: fewer than 2 items to evaluate with protocol '{}'",
                            workspace.root().string(), protocol_name(options.protocol)));
  }
  report.items = ids.size();
  report.designs = count_designs(chosen);
  const ItemLabels labels = label_codes(chosen);

  std::vector<Method> methods;
  methods.push_back({"grey thumbnail 16x16", select_rows(features.ids, features.grey, image::kGreyDim, ids),
                     image::kGreyDim, Role::kBaseline});
  methods.push_back({"colour thumbnail 16x16",
                     select_rows(features.ids, features.colour, image::kColourDim, ids), image::kColourDim,
                     Role::kBaseline});
  methods.push_back({"HSV histogram (object)", select_rows(features.ids, features.hsv, image::kHsvDim, ids),
                     image::kHsvDim, Role::kBaseline});
  if (means) {
    const auto dim = static_cast<std::size_t>(means->dim);
    methods.push_back({fmt::format("{} channel means ({})", options.model, dim),
                       select_rows(means->ids, means->vectors, dim, ids), dim, Role::kModel});
  }
  const auto flat_dim = static_cast<std::size_t>(flat.dim);
  methods.push_back({fmt::format("{} flat code ({}) = ours", options.model, flat_dim),
                     select_rows(flat.ids, flat.vectors, flat_dim, ids), flat_dim, Role::kOurs});
  // The product's index also holds edited views of each photo (`mystyle embed`): measured for cosine.
  const std::vector<float> views =
      edited_view_rows(workspace, options.model, flat, ids, methods.back().vectors, report.notes);

  report.rows.push_back(evaluate_random(ids, labels, options.k, options.seed));
  report.rows.back().baseline = true;
  for (const index::Metric metric : options.metrics) {
    for (const Method& m : methods) {
      report.rows.push_back(
          evaluate_vectors(m.name, ids, m.vectors, m.dim, metric, labels, options.k, threads));
      report.rows.back().baseline = m.role == Role::kBaseline;
    }
    if (metric == index::Metric::kCosine && !views.empty()) {
      report.rows.push_back(evaluate_vectors(fmt::format("{} flat + edited views", options.model), ids,
                                             methods.back().vectors, flat_dim, metric, labels, options.k,
                                             threads, views, engine::kEditedViews));
    }
  }
  // `recommend --colour F` with F the query's own colour family: the cosine ranking of the items of that
  // family only (the type P@10 it keeps is issue 24's check of the filter).
  if (std::ranges::find(options.metrics, index::Metric::kCosine) != options.metrics.end()) {
    constexpr std::size_t kFamily = 4;  // kLabelNames[4] == "colour_family"
    const std::vector<float>& ours = methods.back().vectors;
    const auto full = engine::leave_one_out_candidates(ours, flat_dim, ids.size());
    std::vector<std::vector<std::size_t>> asked(full.size());
    for (std::size_t i = 0; i < full.size(); ++i) {
      const int family = labels.codes[i][kFamily];
      for (const auto& [row, cosine] : full[i]) {
        if (family < 0 || labels.codes[row][kFamily] == family) asked[i].push_back(row);
      }
    }
    report.rows.push_back(evaluate_rankings(fmt::format("{} --colour (query's own)", options.model), "cosine",
                                            asked, labels, options.k));
  }
  // What the product serves: the flat code's cosine ranking, its first candidates ordered by the
  // colour model (engine/attributes.h), when `mystyle train --model colour` made a current one.
  std::string stale;
  if (const auto colour = engine::load_current_attribute_model(workspace, model.source_hash, &stale);
      colour && std::ranges::find(options.metrics, index::Metric::kCosine) != options.metrics.end()) {
    report.rows.push_back(evaluate_colour_model(options.model, *colour, workspace, items, model, ids, flat, labels, options.k, threads,
                                                report.notes));
  } else if (!stale.empty()) {
    report.notes.push_back(stale);
  }
  report.similarity = compare_similarity(methods, labels, options);
  return report;
}

nlohmann::json to_json(const RetrievalReport& report) {
  std::vector<std::string> metrics;
  nlohmann::json best_rows = nlohmann::json::array();
  for (auto m : report.options.metrics) {
    metrics.emplace_back(index::metric_name(m));
    const BestBaseline best = best_baseline(report.rows, metrics.back());
    nlohmann::json row = columns_json(best.values);
    row["metric"] = best.metric;
    row["methods"] = columns_json(best.methods);
    best_rows.push_back(row);
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : report.rows) {
    nlohmann::json row = columns_json(row_columns(r));
    row.update({{"method", r.method},
                {"metric", r.metric},
                {"baseline", r.baseline},
                {"queries", r.queries},
                {"map_queries", r.map_queries},
                {"seconds", r.seconds}});
    if (!r.baseline && r.metric != "-")
      row["beats_best_baseline"] = columns_json(beats(r, best_baseline(report.rows, r.metric)));
    rows.push_back(row);
  }
  return {{"kind", "retrieval"},
          {"model", report.options.model},
          {"metrics", metrics},
          {"k", report.options.k},
          {"seed", report.options.seed},
          {"protocol", protocol_name(report.options.protocol)},
          {"split_seed", report.options.split_seed},
          {"protocol_description", protocol_description(report)},
          {"items", report.items},
          {"queries", report.items},
          {"designs", report.designs},
          {"rows", rows},
          {"best_baseline", best_rows},
          {"similarity", to_json(report.similarity)},
          {"notes", report.notes}};
}

std::string format_table(const RetrievalReport& report) {
  std::string out =
      fmt::format("retrieval on {}, model {}\n", protocol_description(report), report.options.model);
  out += fmt::format("{:<32} {:<9} |", "method", "metric");
  for (std::size_t c = 0; c < kColumnCount; ++c) {
    if (c == kLabelCount || c == 2 * kLabelCount) out += " |";
    out += fmt::format(" {:>6} ", c < 2 * kLabelCount ? kLabelShortNames[c % kLabelCount] : "mAP");
  }
  const int width = static_cast<int>(8 * kLabelCount);
  out += fmt::format("\n{:<32} {:<9} |{:^{}} |{:^{}} |{:^8}\n", "", "", "precision@1", width,
                     fmt::format("precision@{}", report.options.k), width, "type");
  auto print_row = [&](const std::string& method, const std::string& metric,
                       const std::array<double, kColumnCount>& values,
                       const std::array<bool, kColumnCount>& mark) {
    out += fmt::format("{:<32} {:<9} |", method, metric);
    for (std::size_t c = 0; c < kColumnCount; ++c) {
      if (c == kLabelCount || c == 2 * kLabelCount) out += " |";
      out += fmt::format(" {:6.3f}{}", values[c], mark[c] ? '*' : ' ');
    }
    out += "\n";
  };
  for (const auto& r : report.rows) {
    if (r.metric == "-") print_row(r.method, r.metric, row_columns(r), {});
  }
  for (const auto metric : report.options.metrics) {
    const std::string name(index::metric_name(metric));
    const BestBaseline best = best_baseline(report.rows, name);
    for (const auto& r : report.rows) {
      if (r.metric != name) continue;
      print_row(r.method, r.metric, row_columns(r),
                r.baseline ? std::array<bool, kColumnCount>{} : beats(r, best));
    }
    print_row("best baseline", name, best.values, {});
  }
  out += "* beats the best baseline (random, thumbnails, HSV histogram) of the same metric in that column\n";
  out += "colour: the shop's colour group; c.fam: the colour family (catalog/colour_family.h); t+cfam: type and "
         "colour family both\n";
  out += '\n';
  out += format_table(report.similarity);
  for (const auto& n : report.notes) out += "note: " + n + "\n";
  return out;
}

std::vector<std::filesystem::path> save_similarity_files(const engine::Workspace& workspace,
                                                         const RetrievalReport& report) {
  const auto ours = std::ranges::find_if(report.similarity.features, &SimilarityDistribution::ours);
  if (ours == report.similarity.features.end()) return {};
  const auto base = report_path(workspace, "similarity_" + report.options.model);
  const auto png = std::filesystem::path(base).replace_extension(".png");
  const cv::Mat plot = plot_similarity(
      *ours,
      fmt::format("{} flat code: same-type vs random pairs of {} (AUC {:.3f})", report.options.model,
                  report.options.protocol == RetrievalProtocol::kHeldOut ? "held-out designs" : "all items",
                  ours->auc));
  std::vector<unsigned char> encoded;
  if (!cv::imencode(".png", plot, encoded))
    throw Error(png.string() + ": could not encode the plot", ErrorKind::kIo);
  write_file_atomic(png, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
  nlohmann::json scale = to_json(SimilarityScale{report.options.model, ours->same_type});
  scale.update({{"random", ours->random},
                {"auc", ours->auc},
                {"protocol", protocol_name(report.options.protocol)},
                {"split_seed", report.options.split_seed},
                {"items", report.items},
                {"same_type_pairs", report.similarity.same_type_pairs},
                {"random_pairs", report.similarity.random_pairs}});
  write_file_atomic(base, scale.dump(2) + "\n");
  return {base, png};
}

}  // namespace mystyle::eval
