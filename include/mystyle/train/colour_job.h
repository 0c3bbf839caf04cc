#pragma once
/// `mystyle train --model colour`: the colour model (engine/attributes.h) fitted on the style
/// model's training designs, the ranking's weights chosen on its validation designs (the same
/// split as `style`: held-out designs are never read). Seconds, not minutes: the read-outs are
/// linear, on the cached photos and the stored codes.
#include <array>
#include <string>
#include <vector>

#include "mystyle/engine/attributes.h"
#include "mystyle/train/family.h"

namespace mystyle::train {

/// Precision@10 of a leave-one-out ranking: type, colour family, both.
struct RankPrecision {
  double type = 0, colour_family = 0, both = 0;
  double mean() const { return (type + colour_family + both) / 3; }
};

/// The P@k of `lists` (rows ranked for each query row) against the rows' type and family codes (-1 =
/// unknown: such a query is skipped for that label, such a row never relevant to it).
RankPrecision rank_precision(const std::vector<std::vector<std::size_t>>& lists, std::span<const int> families,
                             std::span<const int> types, std::size_t k);

/// The candidate pools tried: how many cosine neighbours the ranking reorders (smaller is faster).
inline constexpr std::array<std::size_t, 5> kCandidatesGrid = {20, 30, 50, 100, 200};

/// How many of the cosine ranking's first candidates stay first (attributes.h): tried with every pool
/// and weight. Keeping none let a product's own edited photo fall out of the first ten.
inline constexpr std::array<std::size_t, 7> kKeepFirstGrid = {0, 1, 3, 5, 7, 8, 9};

/// The weights tried: every combination of these for colour, type and joint.
inline constexpr std::array<double, 8> kRankWeightGrid = {0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0};

/// The confidence gates tried (RankWeights::min_confidence, gate_on): the gate off, and each reading
/// with each threshold, with every pool, keep-first count and weight.
inline constexpr std::array<engine::GateOn, 3> kGateOnGrid = {engine::GateOn::kFamily, engine::GateOn::kType,
                                                              engine::GateOn::kProduct};
inline constexpr std::array<double, 9> kMinConfidenceGrid = {0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};

TrainSummary run_colour_family(const Workspace& workspace, const TrainOptions& options, OptionSet given);

}  // namespace mystyle::train
