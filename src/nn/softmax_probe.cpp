#include "mystyle/nn/softmax_probe.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "mystyle/core/error.h"

namespace mystyle::nn {
namespace {

/// logits[n, classes] = x[n, dim] w[dim, classes] + bias.
std::vector<float> logits_of(std::span<const float> x, std::size_t n, std::size_t dim,
                             std::span<const float> w, std::span<const float> bias) {
  const std::size_t c = bias.size();
  std::vector<float> z(n * c);
  for (std::size_t i = 0; i < n; ++i) std::ranges::copy(bias, z.begin() + static_cast<std::ptrdiff_t>(i * c));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(c),
              static_cast<int>(dim), 1.0f, x.data(), static_cast<int>(dim), w.data(), static_cast<int>(c),
              1.0f, z.data(), static_cast<int>(c));
  return z;
}

/// Row-wise softmax in place.
void softmax_rows(std::vector<float>& z, std::size_t c) {
  for (std::size_t r = 0; r < z.size() / c; ++r) {
    float* row = z.data() + r * c;
    const float top = *std::max_element(row, row + c);
    double sum = 0;
    for (std::size_t j = 0; j < c; ++j) sum += row[j] = std::exp(row[j] - top);
    for (std::size_t j = 0; j < c; ++j) row[j] = static_cast<float>(row[j] / sum);
  }
}

std::vector<float> standardise(std::span<const float> x, std::size_t dim, std::span<const float> mean,
                               std::span<const float> scale) {
  std::vector<float> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = (x[i] - mean[i % dim]) / scale[i % dim];
  return out;
}

}  // namespace

std::vector<float> SoftmaxProbe::probabilities(std::span<const float> rows) const {
  const std::vector<float> x = standardise(rows, dim, mean, scale);
  std::vector<float> p = logits_of(x, rows.size() / dim, dim, weights, bias);
  softmax_rows(p, classes);
  return p;
}

double softmax_objective(std::span<const float> x, std::size_t dim, std::span<const int> labels,
                         std::size_t classes, std::span<const float> weights, std::span<const float> bias,
                         double l2, std::span<float> grad_weights, std::span<float> grad_bias) {
  const std::size_t n = labels.size();
  const auto labelled = static_cast<std::size_t>(std::ranges::count_if(labels, [](int l) { return l >= 0; }));
  if (labelled == 0) throw Error("softmax probe: no labelled row to fit");
  std::vector<float> p = logits_of(x, n, dim, weights, bias);
  softmax_rows(p, classes);
  double loss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    float* row = p.data() + i * classes;
    if (labels[i] < 0) {
      std::fill(row, row + classes, 0.0f);  // left out: no gradient
      continue;
    }
    loss -= std::log(std::max(row[labels[i]], 1e-30f));
    row[labels[i]] -= 1.0f;
    for (std::size_t j = 0; j < classes; ++j) row[j] /= static_cast<float>(labelled);
  }
  loss /= static_cast<double>(labelled);
  double sq = 0;
  for (float w : weights) sq += double(w) * w;
  loss += 0.5 * l2 * sq;
  if (!grad_weights.empty()) {
    // grad_w = x^T g + l2 w; grad_b = column sums of g (g = (p - onehot) / labelled, now in p).
    std::ranges::copy(weights, grad_weights.begin());
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(dim), static_cast<int>(classes),
                static_cast<int>(n), 1.0f, x.data(), static_cast<int>(dim), p.data(),
                static_cast<int>(classes), static_cast<float>(l2), grad_weights.data(),
                static_cast<int>(classes));
  }
  if (!grad_bias.empty()) {
    std::ranges::fill(grad_bias, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < classes; ++j) grad_bias[j] += p[i * classes + j];
    }
  }
  return loss;
}

SoftmaxProbe fit_softmax_probe(std::span<const float> x, std::size_t dim, std::span<const int> labels,
                               std::size_t classes, const ProbeFit& fit, std::span<const float> val_x,
                               std::span<const int> val_labels) {
  if (dim == 0 || classes == 0 || x.size() != labels.size() * dim ||
      val_x.size() != val_labels.size() * dim) {
    throw Error(fmt::format("softmax probe: {} numbers for {} rows of {} (classes {})", x.size(),
                            labels.size(), dim, classes));
  }
  SoftmaxProbe probe;
  probe.dim = dim;
  probe.classes = classes;
  probe.mean.assign(dim, 0.0f);
  probe.scale.assign(dim, 1.0f);
  const std::size_t n = labels.size();
  std::vector<double> sum(dim, 0), sq(dim, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < dim; ++j) {
      sum[j] += x[i * dim + j];
      sq[j] += double(x[i * dim + j]) * x[i * dim + j];
    }
  }
  // Centred per number, then one scale for all (the root mean square deviation): per-number
  // scaling blew rare histogram bins up into outliers that the probe overfitted.
  double total_var = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    const double m = sum[j] / static_cast<double>(n);
    probe.mean[j] = static_cast<float>(m);
    total_var += std::max(sq[j] / static_cast<double>(n) - m * m, 0.0);
  }
  const double rms = std::sqrt(total_var / static_cast<double>(dim));
  std::ranges::fill(probe.scale, rms > 1e-12 ? static_cast<float>(rms) : 1.0f);  // constant inputs stay 0
  const std::vector<float> xs = standardise(x, dim, probe.mean, probe.scale);
  probe.weights.assign(dim * classes, 0.0f);
  probe.bias.assign(classes, 0.0f);

  const bool checked = std::ranges::any_of(val_labels, [](int l) { return l >= 0; });
  const std::vector<float> val_xs =
      checked ? standardise(val_x, dim, probe.mean, probe.scale) : std::vector<float>();
  SoftmaxProbe best = probe;
  double best_val = std::numeric_limits<double>::infinity();
  auto check = [&](int t) {
    if (!checked) return;
    const std::vector<float> z = logits_of(val_xs, val_labels.size(), dim, probe.weights, probe.bias);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < val_labels.size(); ++i) {
      const float* row = z.data() + i * classes;
      wrong += val_labels[i] >= 0 && std::max_element(row, row + classes) - row != val_labels[i];
    }
    const auto v = static_cast<double>(wrong);
    if (v < best_val) {
      best_val = v;
      best = probe;
      best.iterations = t;
    }
  };
  check(0);

  // Adam over the weights and biases as one parameter vector.
  const std::size_t np = dim * classes + classes;
  std::vector<float> grad(np), m1(np, 0.0f), m2(np, 0.0f);
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (int t = 1; t <= fit.iterations; ++t) {
    softmax_objective(xs, dim, labels, classes, probe.weights, probe.bias, fit.l2,
                      std::span(grad).first(dim * classes), std::span(grad).subspan(dim * classes));
    const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
    for (std::size_t i = 0; i < np; ++i) {
      m1[i] = static_cast<float>(b1 * m1[i] + (1 - b1) * grad[i]);
      m2[i] = static_cast<float>(b2 * m2[i] + (1 - b2) * double(grad[i]) * grad[i]);
      const double step = fit.learning_rate * (m1[i] / c1) / (std::sqrt(m2[i] / c2) + eps);
      float& param = i < dim * classes ? probe.weights[i] : probe.bias[i - dim * classes];
      param -= static_cast<float>(step);
    }
    probe.iterations = t;
    if (t % std::max(fit.check_every, 1) == 0 || t == fit.iterations) check(t);
  }
  return checked ? best : probe;
}

}  // namespace mystyle::nn
