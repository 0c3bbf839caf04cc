#pragma once
/// Outfit compatibility scorers for fill-in-the-blank and compatibility AUC: ours (co-occurrence of
/// visually similar items of the same product type, the coordination engine's idea) and the
/// baselines (random, popularity, direct item co-occurrence, product-type co-occurrence, the first
/// neighbour scorer, and each on simple image features).
///
/// Leakage: a scorer learns from outfits only through a KnownOutfits, which drops the excluded
/// (held-out) outfits before counting anything; each scorer lists the outfits it learned from and
/// check_no_leak() refuses to evaluate when they overlap the excluded ones. Image embeddings come
/// from an autoencoder trained on item photos alone (no outfits): they are outfit-free.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mystyle/engine/compat_model.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/recommend/outfit_graph.h"

namespace mystyle::eval {

/// The outfits a scorer may learn from: every outfit of `graph` except `exclude_outfits`, and the
/// statistics counted over them. Immutable after construction; the graph must outlive it.
class KnownOutfits {
 public:
  KnownOutfits(const recommend::OutfitGraph& graph, std::span<const std::int64_t> exclude_outfits);

  const recommend::OutfitGraph& graph() const { return *graph_; }
  /// Known outfit ids, ascending.
  std::span<const std::int64_t> outfit_ids() const { return known_; }
  /// Items held by at least one known outfit, ascending.
  std::span<const std::int64_t> items() const { return items_; }
  /// Known outfits holding `item`.
  std::size_t popularity(std::int64_t item) const;
  /// Known outfits holding both `a` and `b` (a != b; 0 when a == b).
  std::size_t cooccurrence(std::int64_t a, std::int64_t b) const;
  /// Calls `visit(a, b, count)` once per unordered pair of items worn together in a known outfit
  /// (a < b, count = cooccurrence(a, b) > 0), in no particular order.
  void for_each_pair(const std::function<void(std::int64_t, std::int64_t, std::size_t)>& visit) const;

 private:
  const recommend::OutfitGraph* graph_;
  std::vector<std::int64_t> known_, items_;
  std::unordered_map<std::int64_t, std::size_t> popularity_;
  struct PairHash {
    std::size_t operator()(const std::pair<std::int64_t, std::int64_t>& p) const noexcept {
      return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(p.first) * 0x9E3779B97F4A7C15ull ^
                                        static_cast<std::uint64_t>(p.second));
    }
  };
  std::unordered_map<std::pair<std::int64_t, std::int64_t>, std::size_t, PairHash>
      pairs_;  ///< (smaller, larger) id
};

/// Scores how well items go together; higher = more compatible. Not thread-safe (caches).
class CompatibilityScorer {
 public:
  virtual ~CompatibilityScorer() = default;
  virtual std::string name() const = 0;
  /// Outfits this scorer learned anything from (empty when it learned from none).
  virtual std::span<const std::int64_t> learned_from_outfits() const = 0;
  /// One line on what it learned from, for the report.
  virtual std::string provenance() const = 0;
  /// Compatibility of two items (symmetric).
  virtual double pair_score(std::int64_t a, std::int64_t b) = 0;
  /// How well `candidate` completes `items`: the mean pair_score with them.
  virtual double candidate_score(std::int64_t candidate, std::span<const std::int64_t> items);
  /// Compatibility of a whole outfit: the mean pair_score over its pairs (0 for < 2 items).
  virtual double outfit_score(std::span<const std::int64_t> items);
};

/// Throws mystyle::Error when `scorer` learned from any of `exclude_outfits` (naming a few).
void check_no_leak(const CompatibilityScorer& scorer, std::span<const std::int64_t> exclude_outfits);

/// A seeded pseudo-random score per pair (and per candidate and outfit).
std::unique_ptr<CompatibilityScorer> make_random_scorer(std::uint64_t seed);
/// Known outfits holding the candidate; an outfit scores the mean of its items'.
std::unique_ptr<CompatibilityScorer> make_popularity_scorer(const KnownOutfits& known);
/// Known outfits holding both items.
std::unique_ptr<CompatibilityScorer> make_cooccurrence_scorer(const KnownOutfits& known);

/// Settings of the nearest-neighbour co-occurrence scorer.
struct NeighbourOptions {
  std::size_t neighbours = 10;  ///< K nearest known items per item (an item that is known is its own nearest)
  /// Divide each co-occurrence count by sqrt(popularity(n) * popularity(m)) (the cosine of the two
  /// items' outfit sets), so that neighbours worn in many outfits do not outvote the rest. Off by
  /// default: raw counts scored better under both protocols on MANGO (docs/results.md).
  bool normalise_by_popularity = false;
};

/// The first neighbour scorer, kept as a baseline: pair_score(a, b) = sum over a's K nearest known
/// items n and b's K nearest known items m of sim(a, n) * sim(b, m) * cooccurrence(n, m) (see
/// NeighbourOptions for its normalisation), similarities being cosine clamped at 0 between `vectors`
/// (row i = `ids[i]`, `dim` numbers); a candidate scores the mean over the outfit's items. Items
/// without a vector score 0. `name` and `vectors_note` label it in reports.
std::unique_ptr<CompatibilityScorer> make_neighbour_scorer(const KnownOutfits& known, std::string name,
                                                           std::span<const std::int64_t> ids,
                                                           std::span<const float> vectors, std::size_t dim,
                                                           const NeighbourOptions& options,
                                                           std::string vectors_note);

/// Which catalog label an item's neighbours must share with it.
enum class SameLabel {
  kNone,      ///< any known item
  kCategory,  ///< Item::category
  kFamily,    ///< Item::family (the category when empty)
  kType,      ///< Item::type (the family, then the category, when empty)
};

/// "none", "category", "family", "type".
std::string same_label_name(SameLabel label);
/// The label of `item` that SameLabel selects ("" for kNone).
std::string label_of(const catalog::Item& item, SameLabel label);

/// Settings of the label-restricted neighbour scorer. The defaults were chosen on MANGO's cold-start
/// questions of split seed 2 and are reported on seed 1 (docs/results.md, section 2).
struct TypedNeighbourOptions {
  SameLabel same_label = SameLabel::kType;  ///< neighbours are known items of the item's own label
  std::size_t candidate_neighbours = 15;    ///< K for the item being scored (a FITB candidate)
  std::size_t context_neighbours = 10;      ///< K for each outfit item it is scored against
  /// Added to each outfit item's evidence before the geometric mean, so that one outfit item
  /// without evidence lowers a candidate's score without zeroing it (same units as the evidence).
  double evidence_floor = 0.3;
};

/// Ours: neighbour co-occurrence restricted to items of the same label. N_K(x) are the K nearest
/// known items of x's label by cosine between `vectors` (clamped at 0; row i = `ids[i]`, `dim`
/// numbers; a known item is its own nearest). The evidence that candidate c goes with item i is
///   e(c, i) = sum over n in N_Kc(c), m in N_Kx(i), n != m of
///             sim(c, n) * sim(i, m) * log(1 + cooccurrence(n, m))
/// (Kc = candidate_neighbours, Kx = context_neighbours). candidate_score(c, items) is the geometric
/// mean over the items of (evidence_floor + e(c, i)), minus evidence_floor (0 when every e is 0);
/// pair_score(a, b) = (e(a, b) + e(b, a)) / 2 and outfit_score the mean pair_score over its pairs.
/// Works on any item vectors (simple image features, a model's embeddings). Items without a vector,
/// or whose label has no known item, score 0. Labels come from `known.graph()`.
std::unique_ptr<CompatibilityScorer> make_typed_neighbour_scorer(const KnownOutfits& known, std::string name,
                                                                 std::span<const std::int64_t> ids,
                                                                 std::span<const float> vectors,
                                                                 std::size_t dim,
                                                                 const TypedNeighbourOptions& options,
                                                                 std::string vectors_note);

/// Labels only (no image): the typed scorer with every known item of a label alike. The evidence that
/// a goes with b is the mean of log(1 + cooccurrence(n, m)) over known items n of a's label and m of
/// b's label (n != m); a candidate scores the geometric mean over the outfit's items of
/// (1e-3 + evidence), minus 1e-3; pair_score is the evidence, outfit_score its mean over pairs.
std::unique_ptr<CompatibilityScorer> make_label_cooccurrence_scorer(const KnownOutfits& known,
                                                                    SameLabel label);

/// The learned compatibility model (engine/compat_model.h) trained here on `known`'s outfits only
/// (deterministic for settings.seed): pair_score is its cosine between the two items as seen from
/// each other's slot; candidate and outfit scores are the means. Items without features score 0.
std::unique_ptr<CompatibilityScorer> make_compat_scorer(const KnownOutfits& known,
                                                        const engine::CompatFeatures& features,
                                                        const engine::CompatSettings& settings, std::string name);

}  // namespace mystyle::eval
