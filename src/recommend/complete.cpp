#include "mystyle/recommend/complete.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>

#include "mystyle/core/error.h"

namespace mystyle::recommend {
namespace {

using catalog::Slot;

constexpr std::size_t kSlotCount = catalog::kAllSlots.size();

std::size_t slot_index(Slot slot) {
  const auto index = static_cast<std::size_t>(slot);
  assert(index < kSlotCount);
  return index;
}

// A model that answers NaN must not break the sorts' strict weak ordering: NaN ranks last.
double rank_key(double score) {
  return std::isnan(score) ? -std::numeric_limits<double>::infinity() : score;
}

void require_positive(std::size_t value, const char* option) {
  if (value == 0) {
    throw Error(fmt::format("complete_outfits: option '{}' must be at least 1, got 0", option),
                ErrorKind::kInvalidInput);
  }
}

bool better_piece(const ScoredPiece& x, const ScoredPiece& y) {
  const double kx = rank_key(x.with_query), ky = rank_key(y.with_query);
  if (kx != ky) return kx > ky;
  return x.item < y.item;
}

std::vector<Slot> slots_to_fill(const OutfitGraph& graph, Slot query_slot,
                                const std::vector<Slot>& requested) {
  if (requested.empty()) return default_slots(graph, query_slot);
  std::array<bool, kSlotCount> taken{};
  taken[slot_index(query_slot)] = true;
  std::vector<Slot> slots;
  for (Slot slot : requested) {
    if (!std::exchange(taken[slot_index(slot)], true)) slots.push_back(slot);
  }
  return slots;
}

// between() of the searched candidates, asked of the model at most once per pair: the beam meets the
// same pair in many partial outfits. Candidate `c` of slot position `i` pairs with `d` of `j`, i < j.
class PairCache {
 public:
  PairCache(const std::vector<std::vector<ScoredPiece>>& pools, const PairScores& scores)
      : pools_(pools), scores_(scores), offsets_(pools.size() * pools.size(), 0) {
    std::size_t size = 0;
    for (std::size_t i = 0; i < pools.size(); ++i) {
      for (std::size_t j = i + 1; j < pools.size(); ++j) {
        offsets_[i * pools.size() + j] = size;
        size += pools[i].size() * pools[j].size();
      }
    }
    values_.resize(size);
    known_.resize(size, 0);
  }

  float get(std::size_t i, std::size_t c, std::size_t j, std::size_t d) {
    assert(i < j);
    const std::size_t at = offsets_[i * pools_.size() + j] + c * pools_[j].size() + d;
    if (!known_[at]) {
      const std::int64_t a = pools_[i][c].item, b = pools_[j][d].item;
      values_[at] = scores_.between(std::min(a, b), std::max(a, b));
      known_[at] = 1;
    }
    return values_[at];
  }

 private:
  const std::vector<std::vector<ScoredPiece>>& pools_;
  const PairScores& scores_;
  std::vector<std::size_t> offsets_;
  std::vector<float> values_;
  std::vector<std::uint8_t> known_;
};

// Complete outfits left by the beam: row r holds picks[r * slots + i], an index into pools[i].
struct Beam {
  std::size_t slots = 0;
  std::vector<std::uint32_t> picks;
  std::size_t rows() const { return slots == 0 ? 0 : picks.size() / slots; }
};

Beam beam_search(const std::vector<std::vector<ScoredPiece>>& pools, PairCache& cache,
                 std::size_t beam_width) {
  struct Child {
    double score;
    std::uint32_t parent, pick;
  };
  std::vector<std::uint32_t> picks, next_picks;  // row-major, `depth` columns
  std::vector<double> parent_scores = {0.0};     // one empty partial outfit to start from
  std::vector<Child> children;
  std::size_t rows = 1;
  for (std::size_t depth = 0; depth < pools.size(); ++depth) {
    const auto& pool = pools[depth];
    children.clear();
    children.reserve(rows * pool.size());
    for (std::size_t p = 0; p < rows; ++p) {
      const std::uint32_t* row = picks.data() + p * depth;
      for (std::size_t c = 0; c < pool.size(); ++c) {
        double score = parent_scores[p] + pool[c].with_query;
        for (std::size_t i = 0; i < depth; ++i) score += cache.get(i, row[i], depth, c);
        children.push_back({score, static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(c)});
      }
    }
    // Ties go to the smaller item ids, slot by slot: the result never depends on memory order.
    const auto better = [&](const Child& x, const Child& y) {
      const double kx = rank_key(x.score), ky = rank_key(y.score);
      if (kx != ky) return kx > ky;
      for (std::size_t i = 0; i < depth; ++i) {
        const std::int64_t a = pools[i][picks[x.parent * depth + i]].item;
        const std::int64_t b = pools[i][picks[y.parent * depth + i]].item;
        if (a != b) return a < b;
      }
      return pool[x.pick].item < pool[y.pick].item;
    };
    const std::size_t kept = std::min(beam_width, children.size());
    std::partial_sort(children.begin(), children.begin() + static_cast<std::ptrdiff_t>(kept), children.end(),
                      better);

    next_picks.resize(kept * (depth + 1));
    parent_scores.resize(kept);
    for (std::size_t k = 0; k < kept; ++k) {
      const Child& child = children[k];
      std::copy_n(picks.data() + child.parent * depth, depth, next_picks.data() + k * (depth + 1));
      next_picks[k * (depth + 1) + depth] = child.pick;
      parent_scores[k] = child.score;
    }
    picks.swap(next_picks);
    rows = kept;
  }
  return {pools.size(), std::move(picks)};
}

[[maybe_unused]] bool distinct_items(const std::vector<ScoredPiece>& pieces) {
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    for (std::size_t j = i + 1; j < pieces.size(); ++j) {
      if (pieces[i].item == pieces[j].item) return false;
    }
  }
  return true;
}

// Every pair of the outfit, in a fixed order (query pairs by slot, then piece pairs i < j), so the
// mean is summed the same way whatever the search's order was.
std::vector<PairReason> outfit_pairs(const std::uint32_t* row,
                                     const std::vector<std::vector<ScoredPiece>>& pools, PairCache& cache) {
  std::vector<PairReason> pairs;
  const std::size_t n = pools.size();
  pairs.reserve(n + n * (n - 1) / 2);
  for (std::size_t i = 0; i < n; ++i) pairs.push_back({-1, static_cast<int>(i), pools[i][row[i]].with_query});
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      pairs.push_back({static_cast<int>(i), static_cast<int>(j), cache.get(i, row[i], j, row[j])});
    }
  }
  return pairs;
}

double mean_score(const std::vector<PairReason>& pairs) {
  double sum = 0;
  for (const auto& pair : pairs) sum += pair.score;
  return sum / static_cast<double>(pairs.size());
}

// True when `x` holds the same piece as `y`, or one near-identical to it, in every slot or in more
// than `max_shared` of them: then it is a variation of `y`, not another suggestion.
bool same_suggestion(const std::uint32_t* x, const std::uint32_t* y,
                     const std::vector<std::vector<ScoredPiece>>& pools, const PairScores& scores,
                     double max_shared) {
  std::size_t shared = 0;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const std::int64_t a = pools[i][x[i]].item, b = pools[i][y[i]].item;
    if (a == b || scores.near_identical(std::min(a, b), std::max(a, b))) ++shared;
  }
  return shared == pools.size() || static_cast<double>(shared) > max_shared * static_cast<double>(pools.size());
}

std::vector<CompletedOutfit> pick_outfits(const Beam& beam,
                                          const std::vector<std::vector<ScoredPiece>>& pools,
                                          PairCache& cache, const PairScores& scores, std::size_t wanted,
                                          double max_shared) {
  struct Ranked {
    std::size_t row;
    double score;
    std::vector<PairReason> pairs;
  };
  std::vector<Ranked> ranked;
  ranked.reserve(beam.rows());
  for (std::size_t r = 0; r < beam.rows(); ++r) {
    auto pairs = outfit_pairs(beam.picks.data() + r * beam.slots, pools, cache);
    const double score = mean_score(pairs);
    ranked.push_back({r, score, std::move(pairs)});
  }
  const auto row_of = [&](std::size_t r) { return beam.picks.data() + r * beam.slots; };
  std::ranges::sort(ranked, [&](const Ranked& x, const Ranked& y) {
    const double kx = rank_key(x.score), ky = rank_key(y.score);
    if (kx != ky) return kx > ky;
    for (std::size_t i = 0; i < beam.slots; ++i) {
      const std::int64_t a = pools[i][row_of(x.row)[i]].item, b = pools[i][row_of(y.row)[i]].item;
      if (a != b) return a < b;
    }
    return false;
  });

  std::vector<CompletedOutfit> outfits;
  std::vector<std::size_t> chosen_rows;
  for (auto& candidate : ranked) {
    if (outfits.size() == wanted) break;
    const bool repeats = std::ranges::any_of(chosen_rows, [&](std::size_t r) {
      return same_suggestion(row_of(candidate.row), row_of(r), pools, scores, max_shared);
    });
    if (repeats) continue;
    CompletedOutfit outfit;
    for (std::size_t i = 0; i < beam.slots; ++i) outfit.pieces.push_back(pools[i][row_of(candidate.row)[i]]);
    assert(distinct_items(outfit.pieces));  // each item has one slot and the slots differ
    outfit.score = candidate.score;
    outfit.pairs = std::move(candidate.pairs);
    std::ranges::stable_sort(outfit.pairs, [](const PairReason& x, const PairReason& y) {
      const double kx = rank_key(x.score), ky = rank_key(y.score);
      if (kx != ky) return kx > ky;
      return std::pair(x.a, x.b) < std::pair(y.a, y.b);
    });
    chosen_rows.push_back(candidate.row);
    outfits.push_back(std::move(outfit));
  }
  return outfits;
}

}  // namespace

std::vector<Slot> default_slots(const OutfitGraph& graph, Slot query_slot, double min_share) {
  std::array<std::size_t, kSlotCount> worn_with{};
  std::size_t holding_query = 0;
  for (const auto& outfit : graph.outfits()) {
    std::array<bool, kSlotCount> present{};
    for (const auto& member : outfit.members) {
      if (const catalog::Item* item = graph.item(member.item_id)) present[slot_index(item->slot)] = true;
    }
    if (!present[slot_index(query_slot)]) continue;
    ++holding_query;
    for (std::size_t s = 0; s < kSlotCount; ++s) worn_with[s] += present[s] ? 1 : 0;
  }
  std::vector<Slot> slots;
  if (holding_query == 0) return slots;
  for (Slot slot : catalog::kAllSlots) {
    if (slot == query_slot || slot == Slot::kOther) continue;
    const std::size_t count = worn_with[slot_index(slot)];
    const double share = static_cast<double>(count) / static_cast<double>(holding_query);
    if (count > 0 && share >= min_share) slots.push_back(slot);
  }
  // kAllSlots is the enum's order, so a stable sort leaves ties in slot order.
  std::ranges::stable_sort(
      slots, [&](Slot x, Slot y) { return worn_with[slot_index(x)] > worn_with[slot_index(y)]; });
  return slots;
}

CompleteResult complete_outfits(const OutfitGraph& graph, const PairScores& scores, Slot query_slot,
                                const CompleteOptions& options) {
  require_positive(options.per_slot, "per_slot");
  require_positive(options.pool, "pool");
  require_positive(options.beam, "beam");
  if (!(options.max_shared >= 0.0 && options.max_shared <= 1.0)) {
    throw Error("complete: max_shared must be between 0 and 1", ErrorKind::kInvalidInput);
  }

  const std::vector<Slot> wanted = slots_to_fill(graph, query_slot, options.slots);
  std::array<int, kSlotCount> position;
  position.fill(-1);
  for (std::size_t i = 0; i < wanted.size(); ++i) position[slot_index(wanted[i])] = static_cast<int>(i);

  // One pass over the catalog; the model is asked only about pieces that could be proposed.
  std::vector<std::vector<ScoredPiece>> found(wanted.size());
  for (const catalog::Item& item : graph.items()) {
    const int at = position[slot_index(item.slot)];
    if (at < 0 || !item.image_path) continue;
    if (options.category && item.category != *options.category) continue;
    if (options.colour_family && item.colour_family != *options.colour_family) continue;
    found[static_cast<std::size_t>(at)].push_back({item.id, item.slot, scores.with_query(item.id)});
  }

  CompleteResult result;
  result.query_slot = query_slot;
  const std::size_t depth = std::max(options.pool, options.per_slot);
  std::vector<std::vector<ScoredPiece>> pools;  // the searched candidates per filled slot, best first
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    auto& pieces = found[i];
    if (pieces.empty()) continue;
    const std::size_t kept = std::min(depth, pieces.size());
    std::partial_sort(pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(kept), pieces.end(),
                      better_piece);
    pieces.resize(kept);
    result.slots.push_back(wanted[i]);
    SlotCandidates listed{wanted[i], {}};
    listed.pieces.assign(pieces.begin(),
                         pieces.begin() + static_cast<std::ptrdiff_t>(std::min(options.per_slot, kept)));
    result.candidates.push_back(std::move(listed));
    pools.push_back(std::move(pieces));
  }
  if (options.outfits == 0 || pools.empty()) return result;

  PairCache cache(pools, scores);
  const Beam beam = beam_search(pools, cache, options.beam);
  result.outfits = pick_outfits(beam, pools, cache, scores, options.outfits, options.max_shared);
  return result;
}

}  // namespace mystyle::recommend
