#pragma once
/// Worn pieces: does each piece of a photo of a person, as the engine finds and searches it (the parse
/// model, the cut-out, the search among its slot's items: engine::PieceSearch, the serving path), land in
/// the right slot and type group? Truth comes from data the parser never trained on:
/// - CCP's held-out photos (train/ccp.h's split): each piece the parser finds is judged by the CCP labels
///   under its mask (the most frequent garment label there; a piece less than a third garment, the rest
///   background or skin, holds no garment and is wrong);
/// - MANGO garments of held-out designs pasted onto held-out CCP people (train/paste.h), judged by the
///   pasted garment's own family, when the workspace has a catalog;
/// - CCP's photos tagged but never labelled per pixel (never in the parser's training), like another
///   shop's photos of a named product worn: each garment the tags name (a top, outerwear, a bottom, a
///   dress, shoes or a bag) is right when a piece of its slot was found, and its type group when that
///   piece's matches vote it.
/// Beside them in the same run: the same photos as today's engine saw them (the whole photo one garment,
/// its top-10 vote), the labels' own regions searched (a perfect parser), and studio photos of held-out
/// MANGO designs (their own design left out).
///
/// A piece's answer is the similarity-weighted vote (transfer.h's weighted_vote) of its top k matches'
/// slots and type groups. Slots compare with main_top and inner_top as one ("top"): which of the two a
/// top is depends on what is worn over it, not on the garment.
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mystyle/catalog/design_split.h"
#include "mystyle/engine/pieces.h"
#include "mystyle/engine/workspace.h"

namespace mystyle::eval {

/// The type groups of issue 23: bottoms (jeans, trousers, shorts, skirts, leggings), outerwear (coats,
/// jackets, blazers, cardigans), tops (t-shirts, tops, shirts, blouses, sweaters), dresses (dresses,
/// jumpsuits), footwear, bags; "" for anything else (accessories, legwear, home).
std::string_view type_group_of_family(std::string_view mango_family);
std::string_view type_group_of_ccp_label(std::string_view ccp_label);

struct WornOptions {
  std::string model = engine::kDefaultModel;
  std::filesystem::path ccp;           ///< the CCP data set; default $MYSTYLE_DATASETS/ccp
  std::size_t limit = 0;               ///< held-out CCP photos (0 = all)
  std::size_t studio_limit = 300;      ///< held-out MANGO photos for the studio row
  std::size_t tagged_limit = 300;      ///< CCP photos tagged only (0 = all 1,094)
  std::size_t k = 10;                  ///< matches that vote
  std::uint64_t seed = 1;              ///< the pasted garments' choice and placement
  std::uint64_t parse_split_seed = 1;  ///< the CCP split the parser was trained with
  /// Judge the parser's TRAINING photos instead of the held-out ones: for tuning what serving does with
  /// a parse (never a result; the rows say so).
  bool training_photos = false;
  double min_likelihood = engine::kMinPieceLikelihood;  ///< PieceSearch::set_min_likelihood
  double min_confidence = 0.0;  ///< PieceSearch::set_min_confidence (engine::kMinPieceConfidence)
  std::uint64_t split_seed = catalog::kDefaultSplitSeed;  ///< MANGO's held-out designs
};

/// One method's figures on one set.
struct WornRow {
  std::string set, method;
  std::size_t pieces = 0;     ///< answers judged
  std::size_t typed = 0;      ///< of them, with a truth type group
  double slot_accuracy = 0;   ///< right slot (top = main_top or inner_top)
  double exact_slot = 0;      ///< right slot, main_top and inner_top told apart
  double type_accuracy = 0;   ///< right type group, of the typed
  std::size_t truth_pieces = 0;   ///< garment regions in the truth (CCP: by the labels)
  double found = 0;               ///< of them, overlapped (IoU >= 0.3) by a piece of the right slot
  double ms_per_photo = 0;
  std::map<std::string, std::size_t> confusion;  ///< "truth slot -> answered slot" ("no garment", "none"): count
};

/// One piece the parser found on a CCP photo, and how it was judged.
struct WornPieceRecord {
  std::string photo, part;
  double share = 0, confidence = 0;
  std::string truth_slot, answer_slot, truth_group, answer_group;  ///< "" for none
};

struct WornReport {
  WornOptions options;
  std::size_t photos = 0;  ///< held-out CCP photos
  std::vector<WornRow> rows;
  std::vector<WornPieceRecord> pieces;  ///< ours, on the CCP photos
  /// Tag-only named garments found only by naming the class of a piece the parser was unsure of.
  std::size_t tagged_named_unsure = 0;
  double seconds = 0;
};

WornReport run_worn(const engine::Workspace& workspace, const WornOptions& options);
nlohmann::json to_json(const WornReport& report);
std::string format_table(const WornReport& report);

}  // namespace mystyle::eval
