#include "mystyle/eval/scorers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_set>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"

namespace mystyle::eval {
namespace {

std::pair<std::int64_t, std::int64_t> pair_key(std::int64_t a, std::int64_t b) {
  return {std::min(a, b), std::max(a, b)};
}

/// A deterministic pseudo-random number in [0, 1) for `text` (splitmix-style mixing of FNV-1a).
double hashed_unit(std::uint64_t seed, const std::string& text) {
  std::uint64_t z = fnv1a64(text) ^ (seed * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) / 9007199254740992.0;
}

class RandomScorer final : public CompatibilityScorer {
 public:
  explicit RandomScorer(std::uint64_t seed) : seed_(seed) {}
  std::string name() const override { return "random"; }
  std::span<const std::int64_t> learned_from_outfits() const override { return {}; }
  std::string provenance() const override { return "learns nothing"; }
  double pair_score(std::int64_t a, std::int64_t b) override {
    return hashed_unit(seed_, fmt::format("{} {}", std::min(a, b), std::max(a, b)));
  }
  double candidate_score(std::int64_t candidate, std::span<const std::int64_t> items) override {
    return hashed_unit(seed_, fmt::format("c{} {}", candidate, fmt::join(items, ",")));
  }
  double outfit_score(std::span<const std::int64_t> items) override {
    return hashed_unit(seed_, fmt::format("o{}", fmt::join(items, ",")));
  }

 private:
  std::uint64_t seed_;
};

class PopularityScorer final : public CompatibilityScorer {
 public:
  explicit PopularityScorer(const KnownOutfits& known) : known_(&known) {}
  std::string name() const override { return "popularity"; }
  std::span<const std::int64_t> learned_from_outfits() const override { return known_->outfit_ids(); }
  std::string provenance() const override {
    return fmt::format("item counts in {} known outfits", known_->outfit_ids().size());
  }
  double pair_score(std::int64_t a, std::int64_t b) override {
    return 0.5 * static_cast<double>(known_->popularity(a) + known_->popularity(b));
  }
  double candidate_score(std::int64_t candidate, std::span<const std::int64_t>) override {
    return static_cast<double>(known_->popularity(candidate));
  }
  double outfit_score(std::span<const std::int64_t> items) override {
    double sum = 0;
    for (auto id : items) sum += static_cast<double>(known_->popularity(id));
    return items.empty() ? 0 : sum / static_cast<double>(items.size());
  }

 private:
  const KnownOutfits* known_;
};

class CooccurrenceScorer final : public CompatibilityScorer {
 public:
  explicit CooccurrenceScorer(const KnownOutfits& known) : known_(&known) {}
  std::string name() const override { return "item co-occurrence"; }
  std::span<const std::int64_t> learned_from_outfits() const override { return known_->outfit_ids(); }
  std::string provenance() const override {
    return fmt::format("pair counts in {} known outfits", known_->outfit_ids().size());
  }
  double pair_score(std::int64_t a, std::int64_t b) override {
    return static_cast<double>(known_->cooccurrence(a, b));
  }

 private:
  const KnownOutfits* known_;
};

class NeighbourScorer final : public CompatibilityScorer {
 public:
  NeighbourScorer(const KnownOutfits& known, std::string name, std::span<const std::int64_t> ids,
                  std::span<const float> vectors, std::size_t dim, const NeighbourOptions& options,
                  std::string note)
      : known_(&known),
        name_(std::move(name)),
        note_(std::move(note)),
        options_(options),
        dim_(dim),
        index_(dim, index::Metric::kCosine) {
    if (vectors.size() != ids.size() * dim)
      throw Error(fmt::format("{}: {} vectors of {} numbers expected", name_, ids.size(), dim));
    // Only items seen in known outfits can be neighbours: their co-occurrences are all we know.
    const auto known_items = known.items();
    std::vector<std::int64_t> index_ids;
    std::vector<float> index_vectors;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      row_of_[ids[i]] = i;
      if (std::ranges::binary_search(known_items, ids[i])) {
        index_ids.push_back(ids[i]);
        index_vectors.insert(index_vectors.end(), vectors.begin() + static_cast<std::ptrdiff_t>(i * dim),
                             vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
      }
    }
    if (!index_ids.empty()) index_.add(index_ids, index_vectors);
    vectors_.assign(vectors.begin(), vectors.end());
  }

  std::string name() const override { return name_; }
  std::span<const std::int64_t> learned_from_outfits() const override { return known_->outfit_ids(); }
  std::string provenance() const override {
    return fmt::format("pair counts in {} known outfits, neighbours among {} known items; {}",
                       known_->outfit_ids().size(), index_.size(), note_);
  }

  double pair_score(std::int64_t a, std::int64_t b) override {
    const auto& na = neighbours(a);
    const auto& nb = neighbours(b);
    double sum = 0;
    for (const auto& [n, wn] : na) {
      for (const auto& [m, wm] : nb) {
        if (n == m) continue;
        const auto c = known_->cooccurrence(n, m);
        if (c == 0) continue;
        double v = static_cast<double>(c);
        if (options_.normalise_by_popularity) {
          v /= std::sqrt(static_cast<double>(known_->popularity(n)) *
                         static_cast<double>(known_->popularity(m)));
        }
        sum += wn * wm * v;
      }
    }
    return sum;
  }

 private:
  const std::vector<std::pair<std::int64_t, double>>& neighbours(std::int64_t item) {
    if (auto it = cache_.find(item); it != cache_.end()) return it->second;
    std::vector<std::pair<std::int64_t, double>> out;
    if (auto row = row_of_.find(item); row != row_of_.end() && index_.size() > 0) {
      const std::span<const float> query(vectors_.data() + row->second * dim_, dim_);
      for (const auto& n : index_.search(query, options_.neighbours)) {
        if (n.score > 0) out.emplace_back(n.id, n.score);
      }
    }
    return cache_.emplace(item, std::move(out)).first->second;
  }

  const KnownOutfits* known_;
  std::string name_, note_;
  NeighbourOptions options_;
  std::size_t dim_;
  index::ExactIndex index_;
  std::vector<float> vectors_;
  std::unordered_map<std::int64_t, std::size_t> row_of_;
  std::unordered_map<std::int64_t, std::vector<std::pair<std::int64_t, double>>> cache_;
};

/// The geometric mean of (floor + e) over `evidence`, minus floor: 0 when every e is 0, and one
/// item without evidence pulls a candidate down without zeroing it.
double floored_geometric_mean(std::span<const double> evidence, double floor) {
  // Exactly 0 without evidence (exp(log(floor)) - floor need not be), so such candidates tie.
  if (std::ranges::all_of(evidence, [](double e) { return e == 0; })) return 0;
  double log_sum = 0;
  for (double e : evidence) log_sum += std::log(floor + e);
  return std::exp(log_sum / static_cast<double>(evidence.size())) - floor;
}

class TypedNeighbourScorer final : public CompatibilityScorer {
 public:
  TypedNeighbourScorer(const KnownOutfits& known, std::string name, std::span<const std::int64_t> ids,
                       std::span<const float> vectors, std::size_t dim, const TypedNeighbourOptions& options,
                       std::string note)
      : known_(&known), name_(std::move(name)), note_(std::move(note)), options_(options), dim_(dim) {
    if (dim == 0 || vectors.size() != ids.size() * dim)
      throw Error(fmt::format("{}: {} vectors of {} numbers expected", name_, ids.size(), dim));
    if (!(options.evidence_floor > 0))
      throw Error(fmt::format("{}: the evidence floor must be positive", name_));
    // Only items seen in known outfits can be neighbours: their co-occurrences are all we know.
    // One index per label, filled in ascending id order (ties go to the smaller id).
    const auto known_items = known.items();
    std::map<std::string, std::pair<std::vector<std::int64_t>, std::vector<float>>> groups;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      row_of_[ids[i]] = i;
      const catalog::Item* item = known.graph().item(ids[i]);
      if (item == nullptr || !std::ranges::binary_search(known_items, ids[i])) continue;
      auto& [group_ids, group_vectors] = groups[label_of(*item, options_.same_label)];
      group_ids.push_back(ids[i]);
      group_vectors.insert(group_vectors.end(), vectors.begin() + static_cast<std::ptrdiff_t>(i * dim),
                           vectors.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
    }
    for (auto& [label, group] : groups) {
      auto index = std::make_unique<index::ExactIndex>(dim, index::Metric::kCosine);
      index->add(group.first, group.second);
      indexed_ += index->size();
      indexes_.emplace(label, std::move(index));
    }
    vectors_.assign(vectors.begin(), vectors.end());
  }

  std::string name() const override { return name_; }
  std::span<const std::int64_t> learned_from_outfits() const override { return known_->outfit_ids(); }
  std::string provenance() const override {
    return fmt::format(
        "pair counts in {} known outfits, neighbours among {} known items of the same {} ({} groups; "
        "K = {} for a candidate, {} for an outfit item); {}",
        known_->outfit_ids().size(), indexed_, same_label_name(options_.same_label), indexes_.size(),
        options_.candidate_neighbours, options_.context_neighbours, note_);
  }

  double pair_score(std::int64_t a, std::int64_t b) override {
    return 0.5 * (evidence(a, b) + evidence(b, a));
  }

  double candidate_score(std::int64_t candidate, std::span<const std::int64_t> items) override {
    std::vector<double> e;
    e.reserve(items.size());
    for (auto id : items) e.push_back(evidence(candidate, id));
    return floored_geometric_mean(e, options_.evidence_floor);
  }

 private:
  using Neighbours = std::vector<std::pair<std::int64_t, double>>;

  /// e(c, i) of make_typed_neighbour_scorer's contract.
  double evidence(std::int64_t candidate, std::int64_t item) {
    const Neighbours& nc = neighbours(candidate, options_.candidate_neighbours, candidate_cache_);
    const Neighbours& ni = neighbours(item, options_.context_neighbours, context_cache_);
    double sum = 0;
    for (const auto& [n, wn] : nc) {
      for (const auto& [m, wm] : ni) {
        const auto c = known_->cooccurrence(n, m);  // 0 when n == m
        if (c > 0) sum += wn * wm * std::log1p(static_cast<double>(c));
      }
    }
    return sum;
  }

  const Neighbours& neighbours(std::int64_t item, std::size_t k,
                               std::unordered_map<std::int64_t, Neighbours>& cache) {
    if (auto it = cache.find(item); it != cache.end()) return it->second;
    Neighbours out;
    const auto row = row_of_.find(item);
    const catalog::Item* info = known_->graph().item(item);
    if (row != row_of_.end() && info != nullptr) {
      if (auto index = indexes_.find(label_of(*info, options_.same_label)); index != indexes_.end()) {
        const std::span<const float> query(vectors_.data() + row->second * dim_, dim_);
        for (const auto& n : index->second->search(query, k)) {
          if (n.score > 0) out.emplace_back(n.id, n.score);
        }
      }
    }
    return cache.emplace(item, std::move(out)).first->second;
  }

  const KnownOutfits* known_;
  std::string name_, note_;
  TypedNeighbourOptions options_;
  std::size_t dim_, indexed_ = 0;
  std::map<std::string, std::unique_ptr<index::ExactIndex>> indexes_;  ///< known items per label
  std::vector<float> vectors_;
  std::unordered_map<std::int64_t, std::size_t> row_of_;
  std::unordered_map<std::int64_t, Neighbours> candidate_cache_, context_cache_;
};

class LabelCooccurrenceScorer final : public CompatibilityScorer {
 public:
  static constexpr double kEvidenceFloor = 1e-3;

  LabelCooccurrenceScorer(const KnownOutfits& known, SameLabel label) : known_(&known), label_(label) {
    const auto& graph = known.graph();
    std::unordered_map<std::string, double> group_size;
    for (auto id : known.items()) {
      if (const catalog::Item* item = graph.item(id)) group_size[label_of(*item, label_)] += 1;
    }
    groups_ = group_size.size();
    std::map<std::pair<std::string, std::string>, double> sums;
    known.for_each_pair([&](std::int64_t a, std::int64_t b, std::size_t count) {
      const catalog::Item* ia = graph.item(a);
      const catalog::Item* ib = graph.item(b);
      if (ia == nullptr || ib == nullptr) return;
      const double v = std::log1p(static_cast<double>(count));
      const std::string la = label_of(*ia, label_), lb = label_of(*ib, label_);
      // Both orders are terms of the means: (n = a, m = b) of (la, lb) and (n = b, m = a) of
      // (lb, la); the same key twice when la == lb.
      sums[{la, lb}] += v;
      sums[{lb, la}] += v;
    });
    for (const auto& [key, sum] : sums)
      mean_[key] = sum / (group_size.at(key.first) * group_size.at(key.second));
  }

  std::string name() const override {
    return fmt::format("{} co-occurrence (labels only)", same_label_name(label_));
  }
  std::span<const std::int64_t> learned_from_outfits() const override { return known_->outfit_ids(); }
  std::string provenance() const override {
    return fmt::format("pair counts in {} known outfits pooled over {} {} labels",
                       known_->outfit_ids().size(), groups_, same_label_name(label_));
  }
  double pair_score(std::int64_t a, std::int64_t b) override {
    const catalog::Item* ia = known_->graph().item(a);
    const catalog::Item* ib = known_->graph().item(b);
    if (ia == nullptr || ib == nullptr) return 0;
    const auto it = mean_.find({label_of(*ia, label_), label_of(*ib, label_)});
    return it == mean_.end() ? 0 : it->second;
  }
  double candidate_score(std::int64_t candidate, std::span<const std::int64_t> items) override {
    std::vector<double> e;
    e.reserve(items.size());
    for (auto id : items) e.push_back(pair_score(candidate, id));
    return floored_geometric_mean(e, kEvidenceFloor);
  }

 private:
  const KnownOutfits* known_;
  SameLabel label_;
  std::size_t groups_ = 0;
  std::map<std::pair<std::string, std::string>, double> mean_;
};

}  // namespace

KnownOutfits::KnownOutfits(const recommend::OutfitGraph& graph, std::span<const std::int64_t> exclude_outfits)
    : graph_(&graph) {
  const std::unordered_set<std::int64_t> excluded(exclude_outfits.begin(), exclude_outfits.end());
  std::unordered_set<std::int64_t> items;
  for (const auto& outfit : graph.outfits()) {
    if (excluded.contains(outfit.id)) continue;
    known_.push_back(outfit.id);
    std::vector<std::int64_t> members;
    for (const auto& m : outfit.members) {
      if (std::ranges::find(members, m.item_id) == members.end()) members.push_back(m.item_id);
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
      ++popularity_[members[i]];
      items.insert(members[i]);
      for (std::size_t j = i + 1; j < members.size(); ++j) ++pairs_[pair_key(members[i], members[j])];
    }
  }
  std::ranges::sort(known_);
  items_.assign(items.begin(), items.end());
  std::ranges::sort(items_);
}

std::size_t KnownOutfits::popularity(std::int64_t item) const {
  auto it = popularity_.find(item);
  return it == popularity_.end() ? 0 : it->second;
}

std::size_t KnownOutfits::cooccurrence(std::int64_t a, std::int64_t b) const {
  if (a == b) return 0;
  auto it = pairs_.find(pair_key(a, b));
  return it == pairs_.end() ? 0 : it->second;
}

void KnownOutfits::for_each_pair(
    const std::function<void(std::int64_t, std::int64_t, std::size_t)>& visit) const {
  for (const auto& [pair, count] : pairs_) visit(pair.first, pair.second, count);
}

std::string same_label_name(SameLabel label) {
  switch (label) {
    case SameLabel::kNone:
      return "none";
    case SameLabel::kCategory:
      return "category";
    case SameLabel::kFamily:
      return "family";
    case SameLabel::kType:
      return "type";
  }
  return "?";
}

std::string label_of(const catalog::Item& item, SameLabel label) {
  switch (label) {
    case SameLabel::kNone:
      return {};
    case SameLabel::kCategory:
      return item.category;
    case SameLabel::kFamily:
      return item.family.empty() ? item.category : item.family;
    case SameLabel::kType:
      return !item.type.empty() ? item.type : !item.family.empty() ? item.family : item.category;
  }
  return {};
}

double CompatibilityScorer::candidate_score(std::int64_t candidate, std::span<const std::int64_t> items) {
  double sum = 0;
  for (auto id : items) sum += pair_score(candidate, id);
  return items.empty() ? 0 : sum / static_cast<double>(items.size());
}

double CompatibilityScorer::outfit_score(std::span<const std::int64_t> items) {
  double sum = 0;
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    for (std::size_t j = i + 1; j < items.size(); ++j, ++pairs) sum += pair_score(items[i], items[j]);
  }
  return pairs ? sum / static_cast<double>(pairs) : 0;
}

void check_no_leak(const CompatibilityScorer& scorer, std::span<const std::int64_t> exclude_outfits) {
  const std::unordered_set<std::int64_t> excluded(exclude_outfits.begin(), exclude_outfits.end());
  std::vector<std::int64_t> overlap;
  for (auto id : scorer.learned_from_outfits()) {
    if (excluded.contains(id)) overlap.push_back(id);
  }
  if (overlap.empty()) return;
  overlap.resize(std::min<std::size_t>(overlap.size(), 5));
  throw Error(
      fmt::format("scorer '{}' learned from outfits the questions exclude (e.g. {}); refusing to evaluate it",
                  scorer.name(), fmt::join(overlap, ", ")));
}

std::unique_ptr<CompatibilityScorer> make_random_scorer(std::uint64_t seed) {
  return std::make_unique<RandomScorer>(seed);
}

std::unique_ptr<CompatibilityScorer> make_popularity_scorer(const KnownOutfits& known) {
  return std::make_unique<PopularityScorer>(known);
}

std::unique_ptr<CompatibilityScorer> make_cooccurrence_scorer(const KnownOutfits& known) {
  return std::make_unique<CooccurrenceScorer>(known);
}

std::unique_ptr<CompatibilityScorer> make_neighbour_scorer(const KnownOutfits& known, std::string name,
                                                           std::span<const std::int64_t> ids,
                                                           std::span<const float> vectors, std::size_t dim,
                                                           const NeighbourOptions& options,
                                                           std::string vectors_note) {
  return std::make_unique<NeighbourScorer>(known, std::move(name), ids, vectors, dim, options,
                                           std::move(vectors_note));
}

std::unique_ptr<CompatibilityScorer> make_typed_neighbour_scorer(const KnownOutfits& known, std::string name,
                                                                 std::span<const std::int64_t> ids,
                                                                 std::span<const float> vectors,
                                                                 std::size_t dim,
                                                                 const TypedNeighbourOptions& options,
                                                                 std::string vectors_note) {
  return std::make_unique<TypedNeighbourScorer>(known, std::move(name), ids, vectors, dim, options,
                                                std::move(vectors_note));
}

std::unique_ptr<CompatibilityScorer> make_label_cooccurrence_scorer(const KnownOutfits& known,
                                                                    SameLabel label) {
  return std::make_unique<LabelCooccurrenceScorer>(known, label);
}

}  // namespace mystyle::eval
