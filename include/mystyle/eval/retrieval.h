#pragma once
/// Retrieval evaluation: every catalog item is a query against all the others (leave-one-out);
/// a retrieved item is relevant when it shares the query's label (product type, family, category
/// or colour group). Reports precision@1 and precision@k per label and the mean average precision
/// of the full ranking for product type, for our embeddings and for baselines, over the same items.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/index/metric.h"

namespace mystyle::eval {

/// The labels that define relevance, in report order.
inline constexpr const char* kLabelNames[] = {"type", "family", "category", "colour"};
inline constexpr std::size_t kLabelCount = 4;

/// Per item, a code per label (-1 = the item has no such label: it is not a query for it, and it is
/// never relevant for it). Built from catalog items by label_codes().
struct ItemLabels {
  std::vector<std::array<int, kLabelCount>> codes;
};

/// Codes of the items' type, family, category and colour strings (empty string = -1).
ItemLabels label_codes(std::span<const catalog::Item* const> items);

/// Scores of one method with one metric.
struct RetrievalRow {
  std::string method;  ///< e.g. "ours (flat)", "grey thumbnail 16x16", "random"
  std::string metric;  ///< "cosine", "euclidean", "pearson", "-" for random
  std::size_t queries = 0;
  std::array<double, kLabelCount> precision_at_1{}, precision_at_k{};  ///< by kLabelNames
  double map_type = 0;          ///< mean average precision for type over the full ranking
  std::size_t map_queries = 0;  ///< queries with at least one other item of their type
  double seconds = 0;
};

/// Leave-one-out evaluation of `vectors` ([ids.size(), dim], row i = ids[i], labels.codes[i])
/// ranked by `metric` with the semantics of index::ExactIndex (ties: earlier row first). Every
/// query's full ranking is needed for average precision, so scores come from one float32 BLAS
/// matrix product per block of queries rather than from per-query index searches (the top k agree
/// with ExactIndex up to float rounding of near-ties). `k` >= 1; `threads` >= 1 sort the rankings.
/// `views` ([ids.size() * views_per_item, dim], row i * views_per_item + v = view v of item i):
/// an item then scores as the best of its own vector and its views, as the product's index with
/// edited views ranks it (engine/photo_views.h); queries are still the items' own vectors.
RetrievalRow evaluate_vectors(const std::string& method, std::span<const std::int64_t> ids,
                              std::span<const float> vectors, std::size_t dim, index::Metric metric,
                              const ItemLabels& labels, std::size_t k, std::size_t threads,
                              std::span<const float> views = {}, std::size_t views_per_item = 0);

/// The same measures for a random ranking per query (seeded).
RetrievalRow evaluate_random(std::span<const std::int64_t> ids, const ItemLabels& labels, std::size_t k,
                             std::uint64_t seed);

struct RetrievalOptions {
  std::string model = "seed64";
  std::vector<index::Metric> metrics = {index::Metric::kCosine};  ///< applied to every method
  std::size_t k = 10;
  std::uint64_t seed = 1;  ///< the random baseline's
  int threads = 0;         ///< 0 = all cores
};

struct RetrievalReport {
  RetrievalOptions options;
  std::size_t items = 0;  ///< queries = items with a photo, features and embeddings
  std::vector<RetrievalRow> rows;
  std::vector<std::string> notes;
};

/// Runs every method (random, grey and colour thumbnails, HSV histogram, the encoder's channel
/// means and its flat code) with every metric of `options` on the workspace's catalog. Throws
/// mystyle::Error naming the command to run when the model or its flat embeddings are missing or
/// stale; missing mean embeddings only leave that row out (with a note).
RetrievalReport run_retrieval(const engine::Workspace& workspace, const RetrievalOptions& options);

nlohmann::json to_json(const RetrievalReport& report);
std::string format_table(const RetrievalReport& report);

}  // namespace mystyle::eval
