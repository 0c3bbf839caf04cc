#include "mystyle/nn/pixel_loss.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::nn {
namespace {

std::size_t plane_size(std::size_t logits, int n, int classes) {
  if (n < 1 || classes < 1 ||
      logits % (static_cast<std::size_t>(n) * static_cast<std::size_t>(classes)) != 0) {
    throw Error(
        fmt::format("pixel loss: {} logits are not {} images x {} classes x pixels", logits, n, classes));
  }
  return logits / (static_cast<std::size_t>(n) * static_cast<std::size_t>(classes));
}

}  // namespace

double pixel_cross_entropy(std::span<const float> logits, std::span<const std::int8_t> labels, int n,
                           int classes, std::span<const float> class_weights, std::span<float> grad,
                           PixelLossStats* stats) {
  const std::size_t hw = plane_size(logits.size(), n, classes);
  if (labels.size() != static_cast<std::size_t>(n) * hw || grad.size() != logits.size() ||
      class_weights.size() != static_cast<std::size_t>(classes)) {
    throw Error(
        fmt::format("pixel loss: {} labels, {} gradients and {} weights for {} images of {} pixels and {} "
                    "classes",
                    labels.size(), grad.size(), class_weights.size(), n, hw, classes));
  }
  for (const float w : class_weights) {
    if (!(w >= 0.0f)) throw Error("pixel loss: a class weight is negative or not a number");
  }
  const auto c_count = static_cast<std::size_t>(classes);
  double total = 0, weight_sum = 0;
  std::int64_t pixels = 0, correct = 0;
  std::vector<double> p(c_count);
  // First pass: the softmax of every labelled pixel into grad (unscaled), the loss and the weights.
  for (std::size_t b = 0; b < static_cast<std::size_t>(n); ++b) {
    const float* z = logits.data() + b * c_count * hw;
    float* g = grad.data() + b * c_count * hw;
    for (std::size_t i = 0; i < hw; ++i) {
      const int y = labels[b * hw + i];
      if (y < 0) {
        for (std::size_t c = 0; c < c_count; ++c) g[c * hw + i] = 0.0f;
        continue;
      }
      if (y >= classes) throw Error(fmt::format("pixel loss: label {} is not below {} classes", y, classes));
      double top = z[i];
      std::size_t best = 0;
      for (std::size_t c = 1; c < c_count; ++c) {
        if (z[c * hw + i] > top) {
          top = z[c * hw + i];
          best = c;
        }
      }
      double sum = 0;
      for (std::size_t c = 0; c < c_count; ++c) sum += (p[c] = std::exp(z[c * hw + i] - top));
      const double w = class_weights[static_cast<std::size_t>(y)];
      total += w * (std::log(sum) + top - z[static_cast<std::size_t>(y) * hw + i]);
      weight_sum += w;
      ++pixels;
      if (best == static_cast<std::size_t>(y)) ++correct;
      for (std::size_t c = 0; c < c_count; ++c) {
        const double softmax = p[c] / sum;
        g[c * hw + i] = static_cast<float>(w * (softmax - (c == static_cast<std::size_t>(y) ? 1.0 : 0.0)));
      }
    }
  }
  const double scale = weight_sum > 0 ? 1.0 / weight_sum : 0.0;
  for (float& v : grad) v = static_cast<float>(v * scale);
  const double loss = total * scale;
  if (stats != nullptr) *stats = {loss, pixels, correct};
  return loss;
}

void pixel_argmax(std::span<const float> logits, int n, int classes, std::span<std::int8_t> out) {
  const std::size_t hw = plane_size(logits.size(), n, classes);
  if (out.size() != static_cast<std::size_t>(n) * hw)
    throw Error("pixel_argmax: the output has the wrong size");
  const auto c_count = static_cast<std::size_t>(classes);
  for (std::size_t b = 0; b < static_cast<std::size_t>(n); ++b) {
    const float* z = logits.data() + b * c_count * hw;
    for (std::size_t i = 0; i < hw; ++i) {
      std::size_t best = 0;
      for (std::size_t c = 1; c < c_count; ++c) {
        if (z[c * hw + i] > z[best * hw + i]) best = c;
      }
      out[b * hw + i] = static_cast<std::int8_t>(best);
    }
  }
}

}  // namespace mystyle::nn
