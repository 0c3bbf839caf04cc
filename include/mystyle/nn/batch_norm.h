#pragma once
/// Batch normalisation over channels, as Keras BatchNormalization: eps 1e-3, moving averages
/// with momentum 0.99 (moving = 0.99 * moving + 0.01 * batch; the batch variance is unbiased for
/// the moving average, as TensorFlow's fused kernel and PyTorch do). Training normalises with the
/// batch statistics; inference with the moving ones.
#include "mystyle/nn/layer.h"

namespace mystyle::nn {

class BatchNorm : public Layer {
 public:
  static constexpr float kEpsilon = 1e-3f;
  static constexpr float kMomentum = 0.99f;

  explicit BatchNorm(TensorShape shape);

  std::string describe() const override { return "batchnorm"; }
  TensorShape output_shape() const override { return shape_; }
  /// gamma, beta (trainable), moving_mean, moving_variance (state).
  std::vector<Param*> params() override { return {&gamma_, &beta_, &moving_mean_, &moving_variance_}; }
  void initialize(Rng& rng) override;
  std::unique_ptr<LayerExec> compile(const Context& ctx, const ExecConfig& config,
                                     const dnnl::memory::desc& input_desc) override;

  const TensorShape& shape() const { return shape_; }
  Param& gamma() { return gamma_; }
  Param& beta() { return beta_; }
  Param& moving_mean() { return moving_mean_; }
  Param& moving_variance() { return moving_variance_; }
  /// When false (for gradient checks), training forward passes leave the moving statistics alone.
  void set_update_moving_stats(bool update) { update_moving_stats_ = update; }
  bool update_moving_stats() const { return update_moving_stats_; }

 private:
  TensorShape shape_;
  bool update_moving_stats_ = true;
  Param gamma_, beta_, moving_mean_, moving_variance_;
};

}  // namespace mystyle::nn
