#pragma once
/// A multinomial logistic regression ("softmax probe") on fixed features: the evaluation's linear
/// probes (eval/probe.h) and the colour model's read-outs (train/colour_job.h, engine/attributes.h)
/// fit and apply it.
#include <cstddef>
#include <span>
#include <vector>

namespace mystyle::nn {

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

}  // namespace mystyle::nn
