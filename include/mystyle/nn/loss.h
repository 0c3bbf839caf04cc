#pragma once
/// Reconstruction losses, averaged over every element (Keras's mean over the last axis, then over
/// the batch, is the same number). `y` is the model output, `t` the target, same size.
#include <span>

namespace mystyle::nn {

/// Which loss a training step minimises.
enum class LossKind {
  kBinaryCrossEntropy,  ///< -mean(t log y + (1 - t) log(1 - y)), y clipped to [1e-7, 1 - 1e-7] as Keras
  kMeanSquaredError,    ///< mean((y - t)^2)
};

/// Keras's clipping epsilon for the cross-entropy.
inline constexpr float kBceEpsilon = 1e-7f;

/// The loss value, accumulated in double.
double compute_loss(LossKind kind, std::span<const float> y, std::span<const float> t);

/// dL/dy into `grad` (same size as y). For BCE, y is clipped as in the loss.
void loss_gradient(LossKind kind, std::span<const float> y, std::span<const float> t, std::span<float> grad);

/// BCE after a sigmoid, differentiated with respect to the sigmoid's input: (y - t) / n. Exact
/// (the sigmoid derivative cancels) and stable where y saturates.
void bce_gradient_before_sigmoid(std::span<const float> y, std::span<const float> t, std::span<float> grad);

}  // namespace mystyle::nn
