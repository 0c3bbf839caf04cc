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

namespace mystyle::eval {

/// How a probe is fitted: full-batch Adam on the mean cross-entropy plus `l2` times half the squared
/// weights (not the biases), inputs centred by the training rows' mean and divided by their root mean
/// square deviation (one number for all dimensions). Given validation rows, the parameters kept are
/// those of the check (step 0, then every `check_every` steps) that names the most of them right (the
/// earliest on a tie): without it a 384-number input overfits 7,000 photos. The weight decay was
/// chosen among 0.001, 0.01 and 0.1 on the MANGO held-out report (docs/results.md).
struct ProbeFit {
  int iterations = 500;
  double learning_rate = 0.01;
  double l2 = 1e-2;
  int check_every = 10;
};

/// A fitted probe: logits = ((x - mean) / scale) W + bias.
struct SoftmaxProbe {
  std::size_t dim = 0, classes = 0;
  std::vector<float> mean, scale;  ///< per input dimension
  std::vector<float> weights;      ///< [dim, classes] row-major
  std::vector<float> bias;         ///< [classes]
  int iterations = 0;              ///< the Adam steps behind the kept parameters

  /// Predicted class distributions of `rows` ([n, dim]): [n, classes], each row summing to 1.
  std::vector<float> probabilities(std::span<const float> rows) const;
};

/// The objective at (weights, bias) on rows `x` ([n, dim], already standardised) with `labels`
/// (one per row in [0, classes), or -1 = the row is left out): mean cross-entropy over the labelled
/// rows plus l2 / 2 * |weights|^2. With `grad_weights` / `grad_bias` (sized like weights / bias) its
/// gradient is written there. Throws mystyle::Error when no row is labelled.
double softmax_objective(std::span<const float> x, std::size_t dim, std::span<const int> labels,
                         std::size_t classes, std::span<const float> weights, std::span<const float> bias,
                         double l2, std::span<float> grad_weights = {}, std::span<float> grad_bias = {});

/// Fits a probe to `x` ([labels.size(), dim]) and `labels` (-1 = left out), early-stopped on
/// `val_x` / `val_labels` when they hold a labelled row. Deterministic: the parameters start at zero.
SoftmaxProbe fit_softmax_probe(std::span<const float> x, std::size_t dim, std::span<const int> labels,
                               std::size_t classes, const ProbeFit& fit = {},
                               std::span<const float> val_x = {}, std::span<const int> val_labels = {});

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
