#include "mystyle/recommend/coordinator.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace mystyle::recommend {
namespace {

using catalog::Slot;

bool is_top(Slot s) { return s == Slot::kMainTop || s == Slot::kInnerTop; }

std::vector<catalog::OutfitMember> other_pieces(const catalog::Outfit& outfit, const std::vector<OutfitMatch>& matches) {
  std::vector<catalog::OutfitMember> others;
  for (const auto& m : outfit.members) {
    const bool matched = std::ranges::any_of(matches, [&](const OutfitMatch& x) { return x.item_id == m.item_id; });
    if (!matched) others.push_back(m);
  }
  std::ranges::stable_sort(others, {}, [](const catalog::OutfitMember& m) { return static_cast<int>(m.slot); });
  return others;
}

std::vector<OutfitMatch> matches_in(const catalog::Outfit& outfit, std::size_t rank, const SimilarItem& s) {
  std::vector<OutfitMatch> found;
  for (const auto& m : outfit.members) {
    if (m.item_id == s.item_id) found.push_back({s.item_id, m.slot, rank, s.similarity});
  }
  return found;
}

std::vector<RecommendedOutfit> seed_mode(const OutfitGraph& graph, std::span<const SimilarItem> similar,
                                         const CoordinationOptions& options) {
  // The original concatenated, per similar item, every table row holding it; an outfit holding two
  // similar items appears twice, as it did there. Only the crash on short lists is gone.
  std::vector<RecommendedOutfit> rows;
  for (std::size_t rank = 0; rank < similar.size(); ++rank) {
    for (std::int64_t outfit_id : graph.outfits_of(similar[rank].item_id)) {
      if (options.max_outfits != 0 && rows.size() == options.max_outfits) return rows;
      const catalog::Outfit& outfit = *graph.outfit(outfit_id);
      RecommendedOutfit row{outfit_id, 0, matches_in(outfit, rank, similar[rank]), {}};
      row.others = other_pieces(outfit, row.matches);
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::vector<RecommendedOutfit> ranked_mode(const OutfitGraph& graph, std::span<const SimilarItem> similar,
                                           const CoordinationOptions& options) {
  std::unordered_map<std::int64_t, std::size_t> position;
  std::vector<RecommendedOutfit> outfits;
  for (std::size_t rank = 0; rank < similar.size(); ++rank) {
    for (std::int64_t outfit_id : graph.outfits_of(similar[rank].item_id)) {
      std::vector<OutfitMatch> found = matches_in(*graph.outfit(outfit_id), rank, similar[rank]);
      if (options.query_slot) {
        std::erase_if(found, [&](const OutfitMatch& m) { return !same_slot_group(m.slot, *options.query_slot); });
        if (found.empty()) continue;
      }
      auto [it, added] = position.emplace(outfit_id, outfits.size());
      if (added) outfits.push_back({outfit_id, 0, {}, {}});
      RecommendedOutfit& o = outfits[it->second];
      o.score += similar[rank].relevance;  // each similar item counts once per outfit
      o.matches.insert(o.matches.end(), found.begin(), found.end());
    }
  }
  // Best score first; then the outfit whose best match ranks higher; then catalog order.
  std::ranges::stable_sort(outfits, [](const RecommendedOutfit& a, const RecommendedOutfit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.matches.front().rank != b.matches.front().rank) return a.matches.front().rank < b.matches.front().rank;
    return a.outfit_id < b.outfit_id;
  });
  if (options.max_outfits != 0 && outfits.size() > options.max_outfits) outfits.resize(options.max_outfits);
  for (RecommendedOutfit& o : outfits) o.others = other_pieces(*graph.outfit(o.outfit_id), o.matches);
  return outfits;
}

}  // namespace

bool same_slot_group(Slot a, Slot b) { return a == b || (is_top(a) && is_top(b)); }

double relevance_from(double similarity, bool is_inverse_distance) {
  if (is_inverse_distance) return std::isinf(similarity) ? 1.0 : similarity / (1.0 + similarity);
  return std::clamp(similarity, 0.0, 1.0);
}

std::vector<RecommendedOutfit> coordinate_outfits(const OutfitGraph& graph, std::span<const SimilarItem> similar,
                                                  const CoordinationOptions& options) {
  return options.mode == CoordinationMode::kSeed ? seed_mode(graph, similar, options)
                                                 : ranked_mode(graph, similar, options);
}

}  // namespace mystyle::recommend
