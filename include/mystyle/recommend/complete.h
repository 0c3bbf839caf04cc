#pragma once
/// Complete the look: around the user's piece (the query), the best catalog pieces for each other
/// slot, and whole outfits assembled by a beam search over the slots in which every piece is scored
/// against the query AND against the other pieces. Suggestions are diverse: an outfit is skipped
/// when, in more than half of its slots (CompleteOptions::max_shared), its pieces are the same as or
/// near-identical to those of an outfit already chosen (so two suggestions never differ by a
/// near-identical piece alone, nor by one accessory out of four slots).
///
/// The model is abstracted as PairScores (engine/compat_scores.h wires the learned compatibility
/// model to it), so the search is testable with any scores. Deterministic: ties are broken by item
/// id, never by memory order or hashing. Reentrant: concurrent calls may share a graph and a
/// PairScores, whose const methods must then be thread-safe.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mystyle/catalog/slot.h"
#include "mystyle/recommend/outfit_graph.h"

namespace mystyle::recommend {

/// Compatibility scores the search reads. Higher = goes better together; a NaN score ranks below
/// every other. Not necessarily symmetric in implementation, but the search only calls between(a, b)
/// and near_identical(a, b) with a < b.
class PairScores {
 public:
  virtual ~PairScores() = default;
  /// Compatibility of the query (the user's piece) with catalog item `item`.
  virtual float with_query(std::int64_t item) const = 0;
  /// Compatibility of two catalog items (a < b).
  virtual float between(std::int64_t a, std::int64_t b) const = 0;
  /// True when two items are interchangeable to a shopper: the same design in another colour, or
  /// nearly the same look. Such pieces count as the same piece when outfits are compared.
  virtual bool near_identical(std::int64_t a, std::int64_t b) const = 0;
};

struct CompleteOptions {
  /// Slots to fill, in the order given (duplicates removed; the query's slot is dropped). Empty:
  /// default_slots(graph, query_slot).
  std::vector<catalog::Slot> slots;
  std::size_t outfits = 3;   ///< whole outfits to return (0: none, candidates only)
  std::size_t per_slot = 5;  ///< ranked candidates listed per slot (what "swap" walks through)
  /// Only pieces of this catalog category (Item::category, exact match) are proposed.
  std::optional<std::string> category;
  /// Only pieces of this colour family (Item::colour_family, exact match) are proposed.
  std::optional<std::string> colour_family;
  /// Search breadth: candidates per slot the beam search considers (>= per_slot is used), and
  /// partial outfits kept after each slot.
  std::size_t pool = 30;
  std::size_t beam = 256;
  /// Diversity: an outfit is skipped when, compared with an outfit already chosen, every slot or a
  /// share of slots above this holds the same piece or a near-identical one (0.5: more than half;
  /// 1.0: only outfits that are the same up to near-identical pieces). In [0, 1].
  double max_shared = 0.5;
};

struct ScoredPiece {
  std::int64_t item = 0;
  catalog::Slot slot = catalog::Slot::kOther;
  float with_query = 0;  ///< PairScores::with_query(item)
};

/// Ranked candidates for one slot, best first (by with_query, then item id).
struct SlotCandidates {
  catalog::Slot slot = catalog::Slot::kOther;
  std::vector<ScoredPiece> pieces;  ///< at most per_slot
};

/// One pair score inside an outfit. `a` = -1 stands for the query; otherwise indexes into
/// CompletedOutfit::pieces, as does `b`.
struct PairReason {
  int a = -1;
  int b = 0;
  float score = 0;
};

struct CompletedOutfit {
  std::vector<ScoredPiece> pieces;  ///< one per filled slot, in CompleteOptions::slots order
  /// The mean over every pair of the outfit (query-piece and piece-piece) of its score.
  double score = 0;
  /// Every pair's score, highest first (ties: query pairs first, then by indexes): the first
  /// entries are the reason the outfit was proposed.
  std::vector<PairReason> pairs;
};

struct CompleteResult {
  catalog::Slot query_slot = catalog::Slot::kOther;
  std::vector<catalog::Slot> slots;        ///< the slots filled, in order
  std::vector<SlotCandidates> candidates;  ///< one per slot, same order
  std::vector<CompletedOutfit> outfits;    ///< best first, at most CompleteOptions::outfits
};

/// The slots worn with `query_slot` in at least `min_share` of the graph's outfits that hold an
/// item of that slot (by Item::slot of the members; an outfit counts once per slot), most frequent
/// first, ties by slot order; never the query's own slot, nor `kOther`, nor a slot no such outfit
/// holds (even with min_share 0). Empty when no outfit holds the query's slot. One pass over every
/// outfit: a caller serving many queries may keep the answer per slot.
std::vector<catalog::Slot> default_slots(const OutfitGraph& graph, catalog::Slot query_slot,
                                         double min_share = 0.2);

/// Runs the search. Candidates of a slot are the graph's items whose Item::slot is that slot (and
/// category and colour family, when set), that have a photo (Item::image_path), ranked by with_query. A slot without
/// any candidate is left out of `slots`/`candidates`/outfits (not an error); when no slot is left,
/// there are no outfits. Outfits come from a beam search over the slots in order: each partial
/// outfit is extended by each of its next slot's top max(pool, per_slot) candidates, and the `beam`
/// partials with the highest sum of pair scores are kept (ties: smaller item ids, slot by slot); it
/// is exhaustive when `beam` is at least the product of the searched candidates of all slots but the
/// last. The complete outfits are then ranked by mean pair score and made diverse. Throws mystyle::Error
/// (kInvalidInput) for per_slot == 0 or pool == 0 or beam == 0.
CompleteResult complete_outfits(const OutfitGraph& graph, const PairScores& scores, catalog::Slot query_slot,
                                const CompleteOptions& options);

}  // namespace mystyle::recommend
