#pragma once
/// Linear probes: how much of each label a representation holds for designs it never saw, and what
/// that knowledge caps retrieval at. Per representation and label, a multinomial logistic regression
/// is fitted on the items of training designs (every design not held out under the split seed) and
/// scored on the items of held-out designs: its accuracy, and the precision@k of a ranking that
/// knows only the probe's beliefs (held-out items against each other by the cosine of their
/// predicted label distributions). No embedding made from the same representation is expected to
/// rank a label better than a classifier trained for that label alone; the joint columns rank by
/// the type and colour beliefs together (docs/results.md, section 0).
#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/design_split.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/eval/retrieval.h"
#include "mystyle/nn/softmax_probe.h"

namespace mystyle::eval {

// The softmax probe itself (fit and read-out) is nn/softmax_probe.h: the colour model (train/) fits
// the same probes.
using nn::fit_softmax_probe;
using nn::ProbeFit;
using nn::softmax_objective;
using nn::SoftmaxProbe;

struct ProbeOptions {
  std::string model = engine::kDefaultModel;
  std::uint64_t split_seed = catalog::kDefaultSplitSeed;
  std::size_t k = 10;
  ProbeFit fit;
  int threads = 0;  ///< 0 = all cores (ranking); the fits use BLAS's own threads
};

/// One representation's probes.
struct ProbeRow {
  std::string method;
  std::size_t dim = 0;
  bool baseline = false;                        ///< uses no trained model
  std::array<double, kLabelCount> accuracy{};   ///< held-out items named right, by kLabelNames
  std::array<double, kLabelCount> ranked_p{};   ///< P@k of each label ranked by its own probe
  double joint_type_p = 0, joint_colour_p = 0;  ///< P@k ranked by the type and colour probes together
  std::array<int, kLabelCount> iterations{};    ///< each probe's kept Adam steps
  double seconds = 0;
};

struct ProbeReport {
  ProbeOptions options;
  std::size_t train_items = 0, held_out_items = 0, train_designs = 0, held_out_designs = 0;
  std::vector<ProbeRow> rows;
};

/// Probes the colour thumbnail, the HSV histogram, the model's flat code, and the flat code beside
/// the histogram, each row scaled to unit length as cosine sees it (the pair: each part), on the
/// workspace's items with a photo, features and an embedding. Throws
/// mystyle::Error naming the command to run when the model or its embeddings are missing or stale,
/// and when either side of the split has fewer than 2 items.
ProbeReport run_probe(const engine::Workspace& workspace, const ProbeOptions& options);

nlohmann::json to_json(const ProbeReport& report);
std::string format_table(const ProbeReport& report);

}  // namespace mystyle::eval
