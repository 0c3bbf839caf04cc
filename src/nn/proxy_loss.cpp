#include "mystyle/nn/proxy_loss.h"

#include <algorithm>
#include <cmath>

#include "mystyle/core/error.h"

namespace mystyle::nn {
namespace {

constexpr double kTinyNorm = 1e-12;

/// Unit rows of `x` ([rows, dim]) in double, and each row's norm.
void unit_rows(std::span<const float> x, int rows, int dim, std::vector<double>& unit,
               std::vector<double>& norm) {
  unit.resize(static_cast<std::size_t>(rows) * dim);
  norm.resize(static_cast<std::size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    const float* row = x.data() + static_cast<std::size_t>(r) * dim;
    double s = 0;
    for (int k = 0; k < dim; ++k) s += static_cast<double>(row[k]) * row[k];
    const double len = std::max(std::sqrt(s), kTinyNorm);
    norm[static_cast<std::size_t>(r)] = len;
    for (int k = 0; k < dim; ++k) unit[static_cast<std::size_t>(r) * dim + k] = row[k] / len;
  }
}

/// Back through u = x / |x|: dL/dx = (dL/du - u (u . dL/du)) / |x|, one row.
void unit_backward(const double* u, const double* du, double len, int dim, float* dx) {
  double dot = 0;
  for (int k = 0; k < dim; ++k) dot += u[k] * du[k];
  for (int k = 0; k < dim; ++k) dx[k] = static_cast<float>((du[k] - u[k] * dot) / len);
}

}  // namespace

ProxyLoss::ProxyLoss(int dim, std::vector<ProxyHeadSpec> heads, double scale, std::uint64_t init_seed,
                     double margin)
    : dim_(dim), heads_(std::move(heads)), scale_(scale), margin_(margin) {
  if (dim_ < 1) throw Error("proxy loss: the embedding needs at least one dimension");
  if (heads_.empty()) throw Error("proxy loss: no heads");
  if (!(scale_ > 0)) throw Error("proxy loss: the scale must be positive");
  if (!(margin_ >= 0 && margin_ < 1)) throw Error("proxy loss: the margin must be in [0, 1)");
  Rng rng(init_seed);
  for (const auto& h : heads_) {
    if (h.classes < 1) throw Error("proxy loss: head '" + h.name + "' has no classes");
    Param p = make_param("proxies_" + h.name, {h.classes, dim_});
    for (float& v : p.value) v = rng.uniform(-1.0f, 1.0f);
    proxies_.push_back(std::move(p));
  }
}

std::vector<Param*> ProxyLoss::params() {
  std::vector<Param*> out;
  for (auto& p : proxies_) out.push_back(&p);
  return out;
}

double ProxyLoss::compute(std::span<const float> features, int n, const std::vector<std::vector<int>>& labels,
                          std::span<float> grad, std::vector<ProxyHeadStats>* stats) {
  const std::size_t rows = static_cast<std::size_t>(n);
  const std::size_t d = static_cast<std::size_t>(dim_);
  if (n < 1 || features.size() != rows * d || grad.size() != features.size()) {
    throw Error("proxy loss: expected " + std::to_string(n) + " feature rows of " + std::to_string(dim_) +
                " and a gradient of the same size");
  }
  if (labels.size() != heads_.size()) {
    throw Error("proxy loss: " + std::to_string(heads_.size()) + " heads but labels for " +
                std::to_string(labels.size()));
  }
  std::vector<double> z, znorm;
  unit_rows(features, n, dim_, z, znorm);
  std::vector<double> dz(rows * d, 0.0);
  if (stats) stats->assign(heads_.size(), {});
  double total = 0;
  std::vector<double> p, pnorm, dp, logits;
  for (std::size_t h = 0; h < heads_.size(); ++h) {
    const ProxyHeadSpec& head = heads_[h];
    const auto& y = labels[h];
    if (y.size() != rows) {
      throw Error("proxy loss: head '" + head.name + "' has " + std::to_string(y.size()) + " labels for " +
                  std::to_string(n) + " images");
    }
    Param& w = proxies_[h];
    const int classes = head.classes;
    unit_rows(w.value, classes, dim_, p, pnorm);
    dp.assign(static_cast<std::size_t>(classes) * d, 0.0);
    std::int64_t labelled = 0;
    for (int label : y) {
      if (label < -1 || label >= classes) {
        throw Error("proxy loss: head '" + head.name + "': label " + std::to_string(label) + " outside 0.." +
                    std::to_string(classes - 1));
      }
      labelled += label >= 0;
    }
    ProxyHeadStats hs;
    hs.labelled = labelled;
    if (labelled > 0) {
      const double coeff = head.weight / static_cast<double>(labelled);  // d(total)/d(sample loss)
      logits.resize(static_cast<std::size_t>(classes));
      for (std::size_t i = 0; i < rows; ++i) {
        if (y[i] < 0) continue;
        const double* zi = &z[i * d];
        double top = -1e300;
        int best = 0;
        for (int c = 0; c < classes; ++c) {
          const double* pc = &p[static_cast<std::size_t>(c) * d];
          double dot = 0;
          for (std::size_t k = 0; k < d; ++k) dot += zi[k] * pc[k];
          logits[static_cast<std::size_t>(c)] = scale_ * dot;
          if (logits[static_cast<std::size_t>(c)] > top) {
            top = logits[static_cast<std::size_t>(c)];
            best = c;
          }
        }
        if (margin_ > 0) {  // the nearest proxy (best) is chosen without it
          logits[static_cast<std::size_t>(y[i])] -= scale_ * margin_;
          top = *std::max_element(logits.begin(), logits.end());
        }
        double sum = 0;
        for (double l : logits) sum += std::exp(l - top);
        const double lse = top + std::log(sum);
        hs.loss += lse - logits[static_cast<std::size_t>(y[i])];
        hs.correct += best == y[i];
        // dL/dlogit_c = softmax_c - [c == y]; logit_c = scale z . p_c (- scale m for y: a constant).
        for (int c = 0; c < classes; ++c) {
          const double g =
              coeff * (std::exp(logits[static_cast<std::size_t>(c)] - lse) - (c == y[i] ? 1.0 : 0.0));
          if (g == 0) continue;
          const double* pc = &p[static_cast<std::size_t>(c) * d];
          double* dpc = &dp[static_cast<std::size_t>(c) * d];
          double* dzi = &dz[i * d];
          for (std::size_t k = 0; k < d; ++k) {
            dzi[k] += g * scale_ * pc[k];
            dpc[k] += g * scale_ * zi[k];
          }
        }
      }
      hs.loss /= static_cast<double>(labelled);
      total += head.weight * hs.loss;
    }
    for (int c = 0; c < classes; ++c) {
      const std::size_t at = static_cast<std::size_t>(c) * d;
      unit_backward(&p[at], &dp[at], pnorm[static_cast<std::size_t>(c)], dim_, &w.grad[at]);
    }
    if (stats) (*stats)[h] = hs;
  }
  for (std::size_t i = 0; i < rows; ++i) unit_backward(&z[i * d], &dz[i * d], znorm[i], dim_, &grad[i * d]);
  return total;
}

void l2_normalize_rows(std::span<float> rows, int dim) {
  const std::size_t d = static_cast<std::size_t>(dim);
  for (std::size_t at = 0; at + d <= rows.size(); at += d) {
    double s = 0;
    for (std::size_t k = 0; k < d; ++k) s += static_cast<double>(rows[at + k]) * rows[at + k];
    if (s <= 0) continue;
    const double inv = 1.0 / std::sqrt(s);
    for (std::size_t k = 0; k < d; ++k) rows[at + k] = static_cast<float>(rows[at + k] * inv);
  }
}

}  // namespace mystyle::nn
