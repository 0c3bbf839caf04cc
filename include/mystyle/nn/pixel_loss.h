#pragma once
/// Per-pixel classification loss for a parsing model: softmax cross-entropy over the classes at every
/// pixel of the model's output, with a weight per class (small pieces such as shoes or a bag count
/// more than the background they sit on), as PyTorch's CrossEntropyLoss(weight=w, ignore_index=-1):
///
///   loss = sum_p w[y_p] * (log sum_c exp(z_pc) - z_{p,y_p}) / sum_p w[y_p]
///
/// over the pixels p whose label y_p is not -1 (ignored). Computed in double; the gradient with
/// respect to every logit is exact: dL/dz_pc = w[y_p] * (softmax(z_p)_c - [c == y_p]) / sum_p w[y_p].
#include <cstdint>
#include <span>

namespace mystyle::nn {

/// What one batch did.
struct PixelLossStats {
  double loss = 0;           ///< the weighted mean above
  std::int64_t pixels = 0;   ///< pixels with a label
  std::int64_t correct = 0;  ///< of those, where the largest logit is the label's
};

/// `logits`: [n, classes, height * width] (NCHW, the model's output). `labels`: [n, height * width],
/// each a class index or -1. `class_weights`: one per class, >= 0. Overwrites `grad` (the size of
/// `logits`) with dL/d(logits) (all zeros when no pixel is labelled) and returns the loss. Throws
/// mystyle::Error for sizes that disagree, a label out of range or a negative weight.
double pixel_cross_entropy(std::span<const float> logits, std::span<const std::int8_t> labels, int n,
                           int classes, std::span<const float> class_weights, std::span<float> grad,
                           PixelLossStats* stats = nullptr);

/// The class with the largest logit at every pixel: [n, height * width].
void pixel_argmax(std::span<const float> logits, int n, int classes, std::span<std::int8_t> out);

}  // namespace mystyle::nn
