#include "mystyle/nn/loss.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace mystyle::nn {

double compute_loss(LossKind kind, std::span<const float> y, std::span<const float> t) {
  assert(y.size() == t.size() && !y.empty());
  double sum = 0.0;
  if (kind == LossKind::kBinaryCrossEntropy) {
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double p = std::clamp(static_cast<double>(y[i]), double{kBceEpsilon}, 1.0 - double{kBceEpsilon});
      sum -= t[i] * std::log(p) + (1.0 - t[i]) * std::log(1.0 - p);
    }
  } else {
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double d = static_cast<double>(y[i]) - t[i];
      sum += d * d;
    }
  }
  return sum / static_cast<double>(y.size());
}

void loss_gradient(LossKind kind, std::span<const float> y, std::span<const float> t, std::span<float> grad) {
  assert(y.size() == t.size() && y.size() == grad.size());
  const float inv_n = 1.0f / static_cast<float>(y.size());
  if (kind == LossKind::kBinaryCrossEntropy) {
    for (std::size_t i = 0; i < y.size(); ++i) {
      const float p = std::clamp(y[i], kBceEpsilon, 1.0f - kBceEpsilon);
      grad[i] = (p - t[i]) / (p * (1.0f - p)) * inv_n;
    }
  } else {
    for (std::size_t i = 0; i < y.size(); ++i) grad[i] = 2.0f * (y[i] - t[i]) * inv_n;
  }
}

void bce_gradient_before_sigmoid(std::span<const float> y, std::span<const float> t, std::span<float> grad) {
  assert(y.size() == t.size() && y.size() == grad.size());
  const float inv_n = 1.0f / static_cast<float>(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) grad[i] = (y[i] - t[i]) * inv_n;
}

}  // namespace mystyle::nn
