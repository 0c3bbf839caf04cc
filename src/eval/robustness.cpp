#include "mystyle/eval/robustness.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "mystyle/core/error.h"
#include "mystyle/core/progress.h"
#include "mystyle/engine/attributes.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/image/perturb.h"
#include "query_pipeline.h"

namespace mystyle::eval {
namespace {

// `m.views_per_item` > 1: the index holds view ids (engine/photo_views.h), folded back to items, an
// item ranking as its closest view, as the recommender does.
RobustnessCell recall(const QueryMethod& m, std::span<const std::int64_t> truth, std::size_t k,
                      std::size_t threads) {
  const std::span<const float> queries(m.queries->data(), truth.size() * m.index->dim());
  auto results = m.index->search_batch(queries, k * m.views_per_item, {}, threads);
  if (m.views_per_item > 1) {
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

// The ranking the product serves with a colour model (engine/attributes.h): `m`'s first
// colour.candidates items reordered by the colour model's reading of each query photo.
RobustnessCell served_recall(const QueryMethod& m, const QueryBuffers& buffers,
                             const engine::AttributeModel& colour,
                             const std::map<std::int64_t, std::pair<int, int>>& codes,
                             std::span<const std::int64_t> truth, std::size_t k, std::size_t threads,
                             double& colour_named, double& reordered) {
  const std::size_t dim = m.index->dim();
  const std::span<const float> queries(m.queries->data(), truth.size() * dim);
  const std::size_t fetch = std::max(k, colour.candidates);
  auto results = m.index->search_batch(queries, fetch * m.views_per_item, {}, threads);
  RobustnessCell cell;
  std::size_t named = 0, asked = 0, passed = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    auto r = m.views_per_item > 1 ? engine::fold_views(results[i], fetch) : results[i];
    const engine::PhotoAttributes photo = colour.predict(buffers.seen_rgb8(i), queries.subspan(i * dim, dim));
    if (const auto own = codes.find(truth[i]); own != codes.end() && own->second.first >= 0) {
      ++asked;
      named += colour.family_code(photo.colour_family) == own->second.first;
    }
    passed += engine::reorders(photo, colour.weights);
    std::vector<double> scores;
    std::vector<int> f, t;
    for (const index::Neighbor& n : r) {
      const auto c = codes.find(n.id);
      scores.push_back(n.score);
      f.push_back(c == codes.end() ? -1 : c->second.first);
      t.push_back(c == codes.end() ? -1 : c->second.second);
    }
    const std::vector<std::size_t> order = engine::rerank(photo, scores, f, t, colour.weights, k);
    for (std::size_t j = 0; j < std::min(k, order.size()); ++j) {
      if (r[order[j]].id != truth[i]) continue;
      cell.recall_at_k += 1;
      if (j == 0) cell.recall_at_1 += 1;
    }
  }
  const double n = static_cast<double>(std::max<std::size_t>(1, truth.size()));
  cell.recall_at_1 /= n;
  cell.recall_at_k /= n;
  colour_named = asked ? static_cast<double>(named) / static_cast<double>(asked) : 0;
  reordered = static_cast<double>(passed) / n;
  return cell;
}

}  // namespace

RobustnessReport run_robustness(const engine::Workspace& workspace, const RobustnessOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.k == 0) throw Error("robustness: k must be at least 1");
  const std::size_t threads = eval_threads(options.threads);
  RobustnessReport report;
  report.options = options;
  QuerySetup setup = load_query_setup(workspace, options.model, threads);
  report.catalog_items = setup.ours.size();

  // A seeded sample of products that every index holds, of held-out designs unless told otherwise:
  // a learned model has seen the training designs' photos, so only the others measure it fairly.
  std::vector<const catalog::Item*> pool = eligible_queries(setup, options.all_items, options.split_seed);
  report.eligible = pool.size();
  sample_queries(pool, options.seed, options.limit);
  if (pool.empty())
    throw Error(fmt::format("{}: no embedded items with a photo to query among {}", workspace.root().string(),
                            sample_name(options)));

  const QueryPhotos kept = decode_query_photos(pool, setup.pre, threads);
  std::vector<std::int64_t> truth;
  for (const catalog::Item* item : kept.items) truth.push_back(item->id);
  const std::size_t n = kept.photos.size();
  report.queries = n;

  QueryBuffers buffers(n, setup.pre, checked_code_size(setup, "robustness", options.model));
  const std::vector<QueryMethod> methods = query_methods(setup, buffers, options.model);
  for (const QueryMethod& m : methods) report.methods.push_back(m.name);
  // The served ranking, when a current colour model orders it.
  const std::optional<engine::AttributeModel> colour = engine::load_current_attribute_model(
      workspace, engine::load_embedding_model(workspace, options.model).source_hash);
  std::map<std::int64_t, std::pair<int, int>> codes;
  if (colour) {
    report.methods.push_back("served (+ colour model)");
    for (const catalog::Item& item : setup.items)
      codes[item.id] = {colour->family_code(item.colour_family), colour->type_code(item.type)};
  }
  Progress progress("robustness queries", static_cast<std::int64_t>(n * std::size(image::kAllPerturbations)),
                    "photos");
  for (const image::Perturbation p : image::kAllPerturbations) {
    parallel_for(n, threads, [&](std::size_t i) {
      buffers.fill(i, image::perturb(kept.photos[i], p));
      progress.advance();
    });
    buffers.encode(setup.model, n);
    report.perturbations.push_back(image::perturbation_name(p));
    std::vector<RobustnessCell> cells;
    for (const QueryMethod& m : methods) cells.push_back(recall(m, truth, options.k, threads));
    if (colour) {
      double named = 0, reordered = 0;
      cells.push_back(served_recall(methods[1].views_per_item > 1 ? methods[1] : methods[0], buffers, *colour,
                                    codes, truth, options.k, threads, named, reordered));
      report.colour_named.push_back(named);
      report.colour_reordered.push_back(reordered);
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
      {"colour_named", report.colour_named},
      {"colour_reordered", report.colour_reordered},
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
    if (p < report.colour_named.size()) out += fmt::format(" | colour named {:.3f}", report.colour_named[p]);
    if (p < report.colour_reordered.size())
      out += fmt::format(", reordered {:.3f}", report.colour_reordered[p]);
    out += "\n";
  }
  if (!report.colour_named.empty()) {
    out +=
        "colour named: the share of the edited photos whose colour family the colour model names as the "
        "catalog does; reordered: the share that passes its confidence gate (the others keep the cosine "
        "order)\n";
  }
  return out;
}

}  // namespace mystyle::eval
