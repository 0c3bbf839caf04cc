#include "mystyle/eval/retrieval.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <unordered_map>

#include "mystyle/core/error.h"
#include "mystyle/core/progress.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/eval/eval_data.h"
#include "mystyle/eval/metrics.h"
#include "mystyle/eval/simple_features.h"

namespace mystyle::eval {
namespace {

using Clock = std::chrono::steady_clock;

/// Running sums of the per-query measures.
struct Totals {
  std::array<double, kLabelCount> p1{}, pk{};
  std::array<std::size_t, kLabelCount> label_queries{};
  double ap_sum = 0;
  std::size_t ap_queries = 0;
  std::vector<std::size_t> type_counts;  ///< items per type code

  /// Adds one query whose ranking (others only, best first) is `ranked_rows`.
  void add_query(const ItemLabels& labels, std::size_t query_row, std::span<const std::size_t> ranked_rows,
                 std::size_t k) {
    // std::vector<bool> has no contiguous storage to view as a span.
    const auto relevant = std::make_unique<bool[]>(ranked_rows.size());
    const auto& q = labels.codes[query_row];
    for (std::size_t l = 0; l < kLabelCount; ++l) {
      if (q[l] < 0) continue;
      // Only type needs the full ranking (average precision); the others stop at k.
      const std::size_t n = l == 0 ? ranked_rows.size() : std::min(k, ranked_rows.size());
      for (std::size_t r = 0; r < n; ++r) relevant[r] = labels.codes[ranked_rows[r]][l] == q[l];
      const std::span<const bool> rel_span(relevant.get(), n);
      p1[l] += precision_at_k(rel_span, 1);
      pk[l] += precision_at_k(rel_span, k);
      ++label_queries[l];
      if (l == 0 && type_counts[static_cast<std::size_t>(q[0])] > 1) {
        ap_sum += average_precision(rel_span, type_counts[static_cast<std::size_t>(q[0])] - 1);
        ++ap_queries;
      }
    }
  }

  void merge(const Totals& o) {
    for (std::size_t l = 0; l < kLabelCount; ++l) {
      p1[l] += o.p1[l];
      pk[l] += o.pk[l];
      label_queries[l] += o.label_queries[l];
    }
    ap_sum += o.ap_sum;
    ap_queries += o.ap_queries;
  }

  RetrievalRow row(std::string method, std::string metric, std::size_t queries) const {
    RetrievalRow r;
    r.method = std::move(method);
    r.metric = std::move(metric);
    r.queries = queries;
    for (std::size_t l = 0; l < kLabelCount; ++l) {
      const double n = static_cast<double>(std::max<std::size_t>(1, label_queries[l]));
      r.precision_at_1[l] = p1[l] / n;
      r.precision_at_k[l] = pk[l] / n;
    }
    r.map_queries = ap_queries;
    r.map_type = ap_queries ? ap_sum / static_cast<double>(ap_queries) : 0;
    return r;
  }
};

constexpr std::size_t kQueryBlock = 256;  // queries scored per matrix product

/// Rows transformed so that score(q, x) = alpha * row(q) . row(x) + offset(x) ranks as the metric
/// does (index/metric.h): cosine = unit rows; Pearson = centred unit rows (a constant row scores
/// 0); Euclidean = 2 q.x - |x|^2, which orders as -|q - x|^2.
struct PreparedRows {
  std::vector<float> values, offset;
};

PreparedRows prepare_rows(std::span<const float> vectors, std::size_t dim, index::Metric metric) {
  const std::size_t n = vectors.size() / dim;
  PreparedRows p{std::vector<float>(vectors.begin(), vectors.end()), std::vector<float>(n, 0.0f)};
  for (std::size_t i = 0; i < n; ++i) {
    float* r = p.values.data() + i * dim;
    double sq = 0;
    if (metric == index::Metric::kPearson) {
      double mean = 0;
      for (std::size_t t = 0; t < dim; ++t) mean += r[t];
      mean /= static_cast<double>(dim);
      for (std::size_t t = 0; t < dim; ++t) r[t] = static_cast<float>(r[t] - mean);
    }
    for (std::size_t t = 0; t < dim; ++t) sq += double(r[t]) * r[t];
    if (metric == index::Metric::kEuclidean) {
      p.offset[i] = static_cast<float>(-sq);
      continue;
    }
    const float scale = sq > 0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0f;
    for (std::size_t t = 0; t < dim; ++t) r[t] *= scale;
  }
  return p;
}

/// Sorting these ascending orders by score, best first, ties by row (insertion order, as the index does).
std::uint64_t rank_key(float score, std::size_t row) {
  std::uint32_t bits;
  std::memcpy(&bits, &score, sizeof bits);
  const std::uint32_t ascending = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return (static_cast<std::uint64_t>(~ascending) << 32) | static_cast<std::uint64_t>(row);
}

Totals make_totals(const ItemLabels& labels) {
  Totals t;
  int max_type = -1;
  for (const auto& c : labels.codes) max_type = std::max(max_type, c[0]);
  t.type_counts.assign(static_cast<std::size_t>(max_type + 1), 0);
  for (const auto& c : labels.codes) {
    if (c[0] >= 0) ++t.type_counts[static_cast<std::size_t>(c[0])];
  }
  return t;
}

/// Rows of `wanted` ids within `ids` (every wanted id must be present).
std::vector<float> select_rows(std::span<const std::int64_t> ids, std::span<const float> vectors,
                               std::size_t dim, std::span<const std::int64_t> wanted) {
  std::unordered_map<std::int64_t, std::size_t> row_of;
  for (std::size_t i = 0; i < ids.size(); ++i) row_of[ids[i]] = i;
  std::vector<float> out;
  out.reserve(wanted.size() * dim);
  for (std::int64_t id : wanted) {
    const std::size_t r = row_of.at(id);
    out.insert(out.end(), vectors.begin() + static_cast<std::ptrdiff_t>(r * dim),
               vectors.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim));
  }
  return out;
}

}  // namespace

ItemLabels label_codes(std::span<const catalog::Item* const> items) {
  std::array<std::map<std::string, int>, kLabelCount> dictionaries;
  ItemLabels labels;
  for (const catalog::Item* item : items) {
    const std::array<const std::string*, kLabelCount> values = {&item->type, &item->family, &item->category,
                                                                &item->colour};
    std::array<int, kLabelCount> codes{};
    for (std::size_t l = 0; l < kLabelCount; ++l) {
      if (values[l]->empty()) {
        codes[l] = -1;
        continue;
      }
      auto [it, added] = dictionaries[l].emplace(*values[l], static_cast<int>(dictionaries[l].size()));
      codes[l] = it->second;
    }
    labels.codes.push_back(codes);
  }
  return labels;
}

RetrievalRow evaluate_vectors(const std::string& method, std::span<const std::int64_t> ids,
                              std::span<const float> vectors, std::size_t dim, index::Metric metric,
                              const ItemLabels& labels, std::size_t k, std::size_t threads,
                              std::span<const float> views, std::size_t views_per_item) {
  if (k == 0) throw Error("retrieval: k must be at least 1");
  if (labels.codes.size() != ids.size() || vectors.size() != ids.size() * dim) {
    throw Error(fmt::format("retrieval: {} ids, {} label sets and {} vectors of {} disagree", ids.size(),
                            labels.codes.size(), vectors.size(), dim));
  }
  if (views.size() != ids.size() * views_per_item * dim) {
    throw Error(fmt::format("retrieval: {} view values for {} items x {} views of {}", views.size(),
                            ids.size(), views_per_item, dim));
  }
  const auto start = Clock::now();
  const std::size_t n = ids.size();
  const PreparedRows rows = prepare_rows(vectors, dim, metric);
  // The database: each item's own row, then its views (when given).
  const std::size_t per_item = 1 + views_per_item;
  PreparedRows database = rows;
  if (views_per_item > 0) {
    const PreparedRows v = prepare_rows(views, dim, metric);
    database.values.assign(n * per_item * dim, 0.0f);
    database.offset.assign(n * per_item, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      std::copy_n(rows.values.begin() + static_cast<std::ptrdiff_t>(i * dim), dim,
                  database.values.begin() + static_cast<std::ptrdiff_t>(i * per_item * dim));
      std::copy_n(v.values.begin() + static_cast<std::ptrdiff_t>(i * views_per_item * dim),
                  views_per_item * dim,
                  database.values.begin() + static_cast<std::ptrdiff_t>((i * per_item + 1) * dim));
      database.offset[i * per_item] = rows.offset[i];
      std::copy_n(v.offset.begin() + static_cast<std::ptrdiff_t>(i * views_per_item), views_per_item,
                  database.offset.begin() + static_cast<std::ptrdiff_t>(i * per_item + 1));
    }
  }
  const std::size_t m = n * per_item;
  const float alpha = metric == index::Metric::kEuclidean ? 2.0f : 1.0f;  // 2 q.x - |x|^2
  std::vector<Totals> totals(std::max<std::size_t>(1, threads), make_totals(labels));
  std::vector<float> scores(kQueryBlock * m);
  Progress progress(fmt::format("ranking {} ({})", method, index::metric_name(metric)),
                    static_cast<std::int64_t>(n), "queries");
  for (std::size_t first = 0; first < n; first += kQueryBlock) {
    const std::size_t b = std::min(kQueryBlock, n - first);
    // scores[q][j] = alpha * rows[first + q] . rows[j]: one matrix product per block of queries.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(b), static_cast<int>(m),
                static_cast<int>(dim), alpha, rows.values.data() + first * dim, static_cast<int>(dim),
                database.values.data(), static_cast<int>(dim), 0.0f, scores.data(), static_cast<int>(m));
    std::atomic<std::size_t> next{0};
    {
      std::vector<std::jthread> workers;
      for (std::size_t w = 0; w < totals.size(); ++w) {
        workers.emplace_back([&, w] {
          std::vector<std::uint64_t> keys(n);
          std::vector<std::size_t> ranked;
          for (std::size_t q; (q = next++) < b;) {
            const float* row = scores.data() + q * m;
            for (std::size_t j = 0; j < n; ++j) {
              float best = row[j * per_item] + database.offset[j * per_item];
              for (std::size_t v = 1; v < per_item; ++v) {
                best = std::max(best, row[j * per_item + v] + database.offset[j * per_item + v]);
              }
              keys[j] = rank_key(best, j);
            }
            std::sort(keys.begin(), keys.end());
            ranked.clear();
            for (std::uint64_t key : keys) {
              const auto j = static_cast<std::size_t>(key & 0xffffffffu);
              if (j != first + q) ranked.push_back(j);  // leave the query out
            }
            totals[w].add_query(labels, first + q, ranked, k);
          }
        });
      }
    }
    progress.advance(static_cast<std::int64_t>(b));
  }
  progress.finish();
  for (std::size_t w = 1; w < totals.size(); ++w) totals[0].merge(totals[w]);
  RetrievalRow row = totals[0].row(method, std::string(index::metric_name(metric)), n);
  row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return row;
}

RetrievalRow evaluate_random(std::span<const std::int64_t> ids, const ItemLabels& labels, std::size_t k,
                             std::uint64_t seed) {
  const auto start = Clock::now();
  Totals totals = make_totals(labels);
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> ranked;
  for (std::size_t q = 0; q < ids.size(); ++q) {
    ranked.clear();
    for (std::size_t r = 0; r < ids.size(); ++r) {
      if (r != q) ranked.push_back(r);
    }
    std::shuffle(ranked.begin(), ranked.end(), rng);
    totals.add_query(labels, q, ranked, k);
  }
  RetrievalRow row = totals.row("random", "-", ids.size());
  row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return row;
}

RetrievalReport run_retrieval(const engine::Workspace& workspace, const RetrievalOptions& options) {
  RetrievalReport report;
  report.options = options;
  const std::size_t threads = options.threads > 0 ? static_cast<std::size_t>(options.threads)
                                                  : std::max(1u, std::thread::hardware_concurrency());
  catalog::Catalog cat(workspace.root());
  const std::vector<catalog::Item> items = cat.all_items();
  const engine::Embeddings flat = load_checked_embeddings(workspace, options.model, "flat");
  std::optional<engine::Embeddings> means;
  try {
    means = load_checked_embeddings(workspace, options.model, "mean");
  } catch (const Error& e) {
    report.notes.push_back(fmt::format("channel means left out: {}", e.what()));
  }
  const SimpleFeatures features = load_simple_features(workspace.root(), items, static_cast<int>(threads));
  for (const auto& w : features.warnings) report.notes.push_back("photo left out: " + w);

  // The same items for every method: a photo, simple features and every embedding.
  std::vector<std::int64_t> ids;
  std::vector<const catalog::Item*> chosen;
  for (const auto& item : items) {
    const bool in_all = std::ranges::binary_search(features.ids, item.id) &&
                        std::ranges::binary_search(flat.ids, item.id) &&
                        (!means || std::ranges::binary_search(means->ids, item.id));
    if (!in_all) continue;
    ids.push_back(item.id);
    chosen.push_back(&item);
  }
  if (ids.size() < 2)
    throw Error(fmt::format("{}: fewer than 2 items to evaluate", workspace.root().string()));
  report.items = ids.size();
  const ItemLabels labels = label_codes(chosen);

  report.rows.push_back(evaluate_random(ids, labels, options.k, options.seed));
  struct Method {
    std::string name;
    std::vector<float> vectors;
    std::size_t dim;
  };
  std::vector<Method> methods;
  methods.push_back(
      {"grey thumbnail 16x16", select_rows(features.ids, features.grey, kGreyDim, ids), kGreyDim});
  methods.push_back(
      {"colour thumbnail 16x16", select_rows(features.ids, features.colour, kColourDim, ids), kColourDim});
  methods.push_back(
      {"HSV histogram (object)", select_rows(features.ids, features.hsv, kHsvDim, ids), kHsvDim});
  if (means) {
    const auto dim = static_cast<std::size_t>(means->dim);
    methods.push_back({fmt::format("{} channel means ({})", options.model, dim),
                       select_rows(means->ids, means->vectors, dim, ids), dim});
  }
  const auto flat_dim = static_cast<std::size_t>(flat.dim);
  methods.push_back({fmt::format("{} flat code ({}) = ours", options.model, flat_dim),
                     select_rows(flat.ids, flat.vectors, flat_dim, ids), flat_dim});
  // The product's index also holds edited views of each photo (`mystyle embed`): measured for cosine.
  std::vector<float> view_rows;
  std::string stale;
  if (const auto views = engine::load_current_views(workspace, options.model, flat, &stale)) {
    const std::vector<float>& own = methods.back().vectors;
    view_rows.assign(ids.size() * engine::kEditedViews * flat_dim, 0.0f);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      for (int v = 1; v <= engine::kEditedViews; ++v) {
        float* out =
            view_rows.data() + (i * engine::kEditedViews + static_cast<std::size_t>(v - 1)) * flat_dim;
        const auto it = std::ranges::lower_bound(views->ids, engine::view_id(ids[i], v));
        if (it != views->ids.end() && *it == engine::view_id(ids[i], v)) {
          std::ranges::copy(views->row(static_cast<std::size_t>(it - views->ids.begin())), out);
        } else {
          std::copy_n(own.begin() + static_cast<std::ptrdiff_t>(i * flat_dim), flat_dim, out);  // no view
        }
      }
    }
  } else if (!stale.empty()) {
    report.notes.push_back(stale + "; left out");
  }
  for (const index::Metric metric : options.metrics) {
    for (const Method& m : methods) {
      report.rows.push_back(
          evaluate_vectors(m.name, ids, m.vectors, m.dim, metric, labels, options.k, threads));
    }
    if (metric == index::Metric::kCosine && !view_rows.empty()) {
      report.rows.push_back(evaluate_vectors(fmt::format("{} flat + edited views", options.model), ids,
                                             methods.back().vectors, flat_dim, metric, labels, options.k,
                                             threads, view_rows, engine::kEditedViews));
    }
  }
  return report;
}

nlohmann::json to_json(const RetrievalReport& report) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : report.rows) {
    nlohmann::json p1, pk;
    for (std::size_t l = 0; l < kLabelCount; ++l) {
      p1[kLabelNames[l]] = r.precision_at_1[l];
      pk[kLabelNames[l]] = r.precision_at_k[l];
    }
    rows.push_back({{"method", r.method},
                    {"metric", r.metric},
                    {"queries", r.queries},
                    {"precision_at_1", p1},
                    {"precision_at_k", pk},
                    {"map_type", r.map_type},
                    {"map_queries", r.map_queries},
                    {"seconds", r.seconds}});
  }
  std::vector<std::string> metrics;
  for (auto m : report.options.metrics) metrics.emplace_back(index::metric_name(m));
  return {{"kind", "retrieval"},
          {"model", report.options.model},
          {"metrics", metrics},
          {"k", report.options.k},
          {"seed", report.options.seed},
          {"items", report.items},
          {"protocol", "leave-one-out, every item a query"},
          {"rows", rows},
          {"notes", report.notes}};
}

std::string format_table(const RetrievalReport& report) {
  const std::size_t k = report.options.k;
  std::string out =
      fmt::format("retrieval: {} items, each a query against the others (leave-one-out), model {}\n",
                  report.items, report.options.model);
  out +=
      fmt::format("{:<32} {:<9} | {:>6} {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6} {:>6} | {:>6}\n", "method",
                  "metric", "type", "family", "categ", "colour", "type", "family", "categ", "colour", "mAP");
  out += fmt::format("{:<32} {:<9} | {:^27} | {:^27} | {:>6}\n", "", "", "precision@1",
                     fmt::format("precision@{}", k), "type");
  for (const auto& r : report.rows) {
    out += fmt::format(
        "{:<32} {:<9} | {:6.3f} {:6.3f} {:6.3f} {:6.3f} | {:6.3f} {:6.3f} {:6.3f} {:6.3f} | {:6.3f}\n",
        r.method, r.metric, r.precision_at_1[0], r.precision_at_1[1], r.precision_at_1[2],
        r.precision_at_1[3], r.precision_at_k[0], r.precision_at_k[1], r.precision_at_k[2],
        r.precision_at_k[3], r.map_type);
  }
  for (const auto& n : report.notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace mystyle::eval
