#pragma once
/// Fill-in-the-blank (FITB) questions and compatibility outfits (Polyvore Outfits protocol,
/// Vasileva et al. 2018) made from the catalog's outfits, and their JSON files.
///
/// Ids are catalog ids: items by catalog item id (Item::id), outfits by catalog outfit id
/// (Outfit::id), as `mystyle info`, the web app and the recommendation JSON show them.
///
/// Protocols (both seeded, deterministic for a seed and a catalog):
/// - cold start: a seeded 20% of product designs (the source id before its '-', every colour of
///   it) are new. Known outfits hold no new product; every other outfit is excluded. A question comes
///   from each outfit holding exactly one new product; the blank is that product and the three other
///   candidates are new products of the same category (of other designs, not in the outfit).
/// - warm: a seeded 20% of outfits (hash of their source and source id) are held out (excluded);
///   each gives one question, its blank a seeded member; the three other candidates are catalog items
///   of the blank's category (of other designs, not in the outfit).
/// Compatibility: the question outfits in full (label 1), each beside an outfit of the same size
/// whose items are random items of the same categories (label 0; cold: new for new, known for
/// known), shuffled together.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "mystyle/catalog/design_split.h"
#include "mystyle/recommend/outfit_graph.h"

namespace mystyle::eval {

enum class Protocol {
  kCold,  ///< new product designs never seen in any usable outfit
  kWarm,  ///< held-out outfits of products seen elsewhere
};

std::string protocol_name(Protocol protocol);
/// "cold" / "warm"; throws mystyle::Error naming the accepted values.
Protocol parse_protocol(const std::string& name);

inline constexpr double kHeldOutFraction = catalog::kHeldOutDesignFraction;
inline constexpr std::size_t kCandidates = 4;

/// The product design of a source id: the text before the first '-' (all of it when none).
std::string design_of(const std::string& source_id);

/// Which outfits the system may not use, and which outfits the questions come from.
struct Split {
  std::vector<std::int64_t> exclude_outfits;   ///< sorted
  std::vector<std::int64_t> question_outfits;  ///< sorted; a subset of exclude_outfits
  std::vector<std::int64_t> new_items;         ///< cold: items of new designs, sorted; warm: empty
};

Split make_split(const recommend::OutfitGraph& graph, Protocol protocol, std::uint64_t seed);

struct FitbQuestion {
  std::int64_t outfit = 0;               ///< the outfit it was made from
  std::vector<std::int64_t> items;       ///< the outfit without its blank
  std::vector<std::int64_t> candidates;  ///< kCandidates items, shuffled, one of them the answer
};

struct FitbSet {
  std::vector<std::int64_t> exclude_outfits;
  std::vector<FitbQuestion> questions;
  std::vector<std::int64_t> answers;  ///< per question, the hidden item (empty when unknown)
};

struct CompatSet {
  std::vector<std::int64_t> exclude_outfits;
  std::vector<std::vector<std::int64_t>> outfits;  ///< item ids
  std::vector<bool> labels;  ///< per outfit: real (true) or random (false); may be empty
};

FitbSet make_fitb(const recommend::OutfitGraph& graph, Protocol protocol, std::uint64_t seed);
CompatSet make_compat(const recommend::OutfitGraph& graph, Protocol protocol, std::uint64_t seed);

/// {"exclude_outfits": [ids], "questions": [{"outfit": id, "items": [ids], "candidates": [ids]}]}
nlohmann::json fitb_questions_json(const FitbSet& set);
/// {"answers": [{"outfit": id, "answer": id}]}, in question order.
nlohmann::json fitb_answers_json(const FitbSet& set);
/// {"exclude_outfits": [ids], "outfits": [{"items": [ids]}]}
nlohmann::json compat_questions_json(const CompatSet& set);
/// {"labels": [0|1]}, in outfit order.
nlohmann::json compat_answers_json(const CompatSet& set);

/// Parses the documents above (answers may be null). Throws mystyle::Error naming `name` and the
/// field at fault (e.g. "q.json: questions[3].candidates: expected an array of item ids"), or when
/// an answer is not among its question's candidates or the counts disagree.
FitbSet parse_fitb(const nlohmann::json& questions, const nlohmann::json& answers, const std::string& name);
CompatSet parse_compat(const nlohmann::json& questions, const nlohmann::json& answers,
                       const std::string& name);

}  // namespace mystyle::eval
