#include "mystyle/eval/retrieval.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "mystyle/core/error.h"
#include "mystyle/core/progress.h"
#include "mystyle/eval/metrics.h"

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

}  // namespace

ItemLabels label_codes(std::span<const catalog::Item* const> items) {
  std::array<std::map<std::string, int>, kLabelCount> dictionaries;
  ItemLabels labels;
  for (const catalog::Item* item : items) {
    const std::string joint = item->type.empty() || item->colour_family.empty()
                                  ? std::string()
                                  : item->type + " / " + item->colour_family;
    const std::array<const std::string*, kLabelCount> values = {&item->type,   &item->family,        &item->category,
                                                                &item->colour, &item->colour_family, &joint};
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

RetrievalRow evaluate_rankings(const std::string& method, const std::string& metric,
                               const std::vector<std::vector<std::size_t>>& ranked, const ItemLabels& labels,
                               std::size_t k) {
  if (k == 0) throw Error("retrieval: k must be at least 1");
  if (ranked.size() != labels.codes.size()) {
    throw Error(fmt::format("retrieval: {} rankings for {} label sets", ranked.size(), labels.codes.size()));
  }
  const auto start = Clock::now();
  Totals totals = make_totals(labels);
  for (std::size_t q = 0; q < ranked.size(); ++q) totals.add_query(labels, q, ranked[q], k);
  RetrievalRow row = totals.row(method, metric, ranked.size());
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

const char* protocol_name(RetrievalProtocol protocol) {
  return protocol == RetrievalProtocol::kHeldOut ? "heldout" : "all";
}

RetrievalProtocol parse_retrieval_protocol(const std::string& name) {
  if (name == "heldout") return RetrievalProtocol::kHeldOut;
  if (name == "all") return RetrievalProtocol::kAll;
  throw Error(fmt::format("retrieval protocol '{}': expected heldout or all", name));
}

std::vector<const catalog::Item*> protocol_items(std::span<const catalog::Item> items,
                                                 RetrievalProtocol protocol, std::uint64_t split_seed) {
  std::vector<const catalog::Item*> out;
  for (const catalog::Item& item : items) {
    if (protocol == RetrievalProtocol::kAll || catalog::is_held_out_design(item, split_seed))
      out.push_back(&item);
  }
  return out;
}

std::size_t count_designs(std::span<const catalog::Item* const> items) {
  std::set<std::pair<std::string, std::string>> designs;
  for (const catalog::Item* item : items) designs.emplace(item->source, catalog::design_of(item->source_id));
  return designs.size();
}

std::array<double, kColumnCount> row_columns(const RetrievalRow& row) {
  std::array<double, kColumnCount> c{};
  std::ranges::copy(row.precision_at_1, c.begin());
  std::ranges::copy(row.precision_at_k, c.begin() + kLabelCount);
  c[2 * kLabelCount] = row.map_type;
  return c;
}

BestBaseline best_baseline(std::span<const RetrievalRow> rows, const std::string& metric) {
  BestBaseline best;
  best.metric = metric;
  for (const RetrievalRow& r : rows) {
    if (!r.baseline || (r.metric != metric && r.metric != "-")) continue;
    const auto values = row_columns(r);
    for (std::size_t c = 0; c < kColumnCount; ++c) {
      if (best.methods[c].empty() || values[c] > best.values[c]) {
        best.values[c] = values[c];
        best.methods[c] = r.method;
      }
    }
  }
  return best;
}

}  // namespace mystyle::eval
