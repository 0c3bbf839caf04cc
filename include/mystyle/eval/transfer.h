#pragma once
/// Transfer: beyond MANGO's studio. Does a photo of a garment taken elsewhere (another background,
/// lighting, framing, laid flat, a wider cut: perturb.h's TransferEdit) still land in the right
/// slot, category and product type? Queries: a seeded sample of items of held-out designs
/// (catalog/design_split.h) with photos. Each edited photo runs through the real query pipeline
/// (image::preprocess with the model's input side, the encoder) and through the simple features;
/// the catalog is searched with every item of the query's own design left out (the answer must
/// come from other products, as for another shop's photo), and the top k vote for the slot,
/// category and type, weighted by similarity (weighted_vote).
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/design_split.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/eval/perturb.h"

namespace mystyle::eval {

struct TransferOptions {
  std::string model = engine::kDefaultModel;
  std::size_t limit = 400;                                ///< products sampled (0 = all eligible)
  std::size_t k = 10;                                     ///< neighbours that vote
  std::uint64_t seed = 1;                                 ///< seed of the sample and of the edits
  std::uint64_t split_seed = catalog::kDefaultSplitSeed;  ///< seed of the held-out designs
  int threads = 0;                                        ///< 0 = all cores
};

/// One neighbour's label and similarity, for the vote.
struct Vote {
  std::string label;
  double score = 0;
};

/// The similarity-weighted vote over neighbours given best first: each label scores the sum of
/// max(score, 0) of its neighbours and the highest score wins; a tie (within 1e-9) goes to the
/// label of the better-ranked neighbour. "" for no neighbours.
std::string weighted_vote(std::span<const Vote> ranked);

/// The seed of one query's edits: a hash of the run's seed and the item id.
std::uint64_t transfer_seed(std::uint64_t seed, std::int64_t item_id);

/// One method on one edit.
struct TransferCell {
  double slot_accuracy = 0, category_accuracy = 0, type_accuracy = 0;
  std::size_t bottoms = 0;             ///< queries of category Bottoms
  std::size_t bottoms_as_dresses = 0;  ///< of them, voted 'Dresses, jumpsuits and Complete set'
};

/// One query's answer by one method on one edit.
struct TransferAnswer {
  std::int64_t query = 0;                ///< item id of the query
  std::vector<std::int64_t> neighbours;  ///< the k item ids that voted, best first
  std::string slot, category, type;      ///< voted
};

struct TransferReport {
  TransferOptions options;
  std::size_t catalog_items = 0;              ///< items in the index searched (before leaving a design out)
  std::size_t eligible = 0;                   ///< items of held-out designs with a photo, embedded
  std::size_t held_out_designs = 0;           ///< designs of the eligible items
  int image_side_px = 64;                     ///< the model's input side (photos were decoded for it)
  std::vector<std::int64_t> query_ids;        ///< sampled items whose photo decoded
  std::vector<std::string> query_source_ids;  ///< their shop ids, in the same order
  std::vector<std::string> query_categories;  ///< their categories, in the same order
  std::vector<std::string> methods;           ///< ours first, then the baselines
  std::vector<TransferEdit> edits;            ///< rows, kNone first
  std::vector<std::vector<TransferCell>> cells;                   ///< [edit][method]
  std::vector<std::vector<std::vector<TransferAnswer>>> answers;  ///< [edit][method][query]
  double seconds = 0;
};

/// The MANGO category names of the complaint "wide trousers are read as dresses".
inline constexpr const char* kBottomsCategory = "Bottoms";
inline constexpr const char* kDressesCategory = "Dresses, jumpsuits and Complete set";

/// Throws mystyle::Error naming the command to run when the model or its embeddings are missing or
/// stale, or when no held-out item can be queried.
TransferReport run_transfer(const engine::Workspace& workspace, const TransferOptions& options);

/// A contact sheet of up to `products` sampled products of different categories: each row the
/// catalog photo and its edits (as the run queried them), captioned with the first method's voted
/// type (green when right, red when wrong). CV_8UC3 BGR, ready for cv::imwrite.
cv::Mat transfer_contact_sheet(const engine::Workspace& workspace, const TransferReport& report,
                               std::size_t products = 6);

/// Writes transfer_contact_sheet to reports/eval/transfer_examples.png; returns the path.
std::filesystem::path save_transfer_examples(const engine::Workspace& workspace,
                                             const TransferReport& report);

nlohmann::json to_json(const TransferReport& report);
std::string format_table(const TransferReport& report);

}  // namespace mystyle::eval
