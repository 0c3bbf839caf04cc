#pragma once
/// Retrieval evaluation: each item of the protocol's set is a query against the others of the set
/// (by default the items of held-out designs, catalog/design_split.h, which a learned model never
/// trained on; or every item); a retrieved item is relevant when it shares the query's label
/// (product type, family, category, colour group, colour family, or type and colour family together).
/// Reports precision@1 and precision@k per label
/// and the mean average precision of the full ranking for product type, for our embeddings and for
/// baselines, over the same items, with the best baseline per column; and how the cosine scores of
/// same-type and random pairs are distributed (eval/similarity.h).
#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/eval/similarity.h"
#include "mystyle/index/metric.h"

namespace mystyle::eval {

/// The labels that define relevance, in report order.
/// "colour" is the shop's colour group as imported (MANGO's des_agrup_color_eng: black is GREY);
/// "colour_family" the family a shopper sees (catalog/colour_family.h); "type_colour_family" both the
/// type and the colour family (issue 24: "black trousers" finds black trousers).
inline constexpr const char* kLabelNames[] = {"type",   "family",        "category",
                                              "colour", "colour_family", "type_colour_family"};
inline constexpr std::size_t kLabelCount = 6;
/// The labels' names in printed tables, at most 6 characters (colour: the shop's group; c.fam: the
/// colour family; t+cfam: type and colour family).
inline constexpr const char* kLabelShortNames[kLabelCount] = {"type",   "family", "categ",
                                                              "colour", "c.fam",  "t+cfam"};

/// Per item, a code per label (-1 = the item has no such label: it is not a query for it, and it is
/// never relevant for it). Built from catalog items by label_codes().
struct ItemLabels {
  std::vector<std::array<int, kLabelCount>> codes;
};

/// Codes of the items' type, family, category, colour group, colour family and type + colour family
/// (empty string = -1; the joint label is empty when either part is).
ItemLabels label_codes(std::span<const catalog::Item* const> items);

/// Which items are queries, and which the gallery they are ranked against.
enum class RetrievalProtocol {
  kHeldOut,  ///< items of held-out designs, each against the other items of held-out designs
  kAll,      ///< every item against all the others (leave-one-out)
};

/// "heldout" / "all".
const char* protocol_name(RetrievalProtocol protocol);
/// Inverse of protocol_name; throws mystyle::Error (kInvalidInput) naming the accepted values.
RetrievalProtocol parse_retrieval_protocol(const std::string& name);

/// The items `protocol` evaluates, in the order of `items`: all of them, or those whose design is
/// held out under `split_seed` (catalog::is_held_out_design).
std::vector<const catalog::Item*> protocol_items(std::span<const catalog::Item> items,
                                                 RetrievalProtocol protocol, std::uint64_t split_seed);

/// Distinct designs (source and catalog::design_of) among `items`.
std::size_t count_designs(std::span<const catalog::Item* const> items);

/// Scores of one method with one metric.
struct RetrievalRow {
  std::string method;     ///< e.g. "ours (flat)", "grey thumbnail 16x16", "random"
  std::string metric;     ///< "cosine", "euclidean", "pearson", "-" for random
  bool baseline = false;  ///< a method that uses no trained model (random, thumbnails, histogram)
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
/// The scores of rankings made elsewhere: ranked[i] lists the other rows (indices into
/// labels.codes), best first, as a product orders them for row i (e.g. the colour model's order,
/// engine/attributes.h); mAP over the whole list.
RetrievalRow evaluate_rankings(const std::string& method, const std::string& metric,
                               const std::vector<std::vector<std::size_t>>& ranked, const ItemLabels& labels,
                               std::size_t k);

RetrievalRow evaluate_random(std::span<const std::int64_t> ids, const ItemLabels& labels, std::size_t k,
                             std::uint64_t seed);

/// Values per row in table order: precision@1 per label, precision@k per label, type mAP.
inline constexpr std::size_t kColumnCount = 2 * kLabelCount + 1;
std::array<double, kColumnCount> row_columns(const RetrievalRow& row);

/// Per column, the best value among the baseline rows measured with `metric` or metric-free
/// (random), and the method it came from (empty when there is none).
struct BestBaseline {
  std::string metric;
  std::array<double, kColumnCount> values{};
  std::array<std::string, kColumnCount> methods;
};
BestBaseline best_baseline(std::span<const RetrievalRow> rows, const std::string& metric);

struct RetrievalOptions {
  std::string model = engine::kDefaultModel;
  RetrievalProtocol protocol = RetrievalProtocol::kHeldOut;
  std::uint64_t split_seed = catalog::kDefaultSplitSeed;          ///< of the held-out designs
  std::vector<index::Metric> metrics = {index::Metric::kCosine};  ///< applied to every method
  std::size_t k = 10;
  std::uint64_t seed = 1;                  ///< the random baseline's and the similarity pair sample's
  std::size_t similarity_pairs = 200'000;  ///< most same-type and random pairs scored (each)
  int threads = 0;                         ///< 0 = all cores
};

struct RetrievalReport {
  RetrievalOptions options;
  std::size_t items = 0;    ///< queries = the protocol's items with a photo, features and embeddings
  std::size_t designs = 0;  ///< designs among them
  std::vector<RetrievalRow> rows;
  SimilarityComparison similarity;  ///< every vector method over the same pairs of the items
  std::vector<std::string> notes;
};

/// Runs every method (random, grey and colour thumbnails, HSV histogram, the encoder's channel
/// means and its flat code, and the flat code with edited views) with every metric of `options`
/// on the protocol's items of the workspace's catalog, and the similarity distribution of every
/// vector method. Throws mystyle::Error naming the command to run when the model or its flat
/// embeddings are missing or stale. The channel means row is left out (with a note) when the mean
/// embeddings are missing or stale, and when the model's latent is a vector (1x1 map: its channel
/// means are its flat code).
RetrievalReport run_retrieval(const engine::Workspace& workspace, const RetrievalOptions& options);

/// Writes the model's similarity histogram and scale: reports/eval/similarity_<model>.png and
/// .json (a SimilarityScale, plus its random-pair quantiles and AUC). Returns the paths written
/// (none when the report has no model distribution).
std::vector<std::filesystem::path> save_similarity_files(const engine::Workspace& workspace,
                                                         const RetrievalReport& report);

nlohmann::json to_json(const RetrievalReport& report);
std::string format_table(const RetrievalReport& report);

}  // namespace mystyle::eval
