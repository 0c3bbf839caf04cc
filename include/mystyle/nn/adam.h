#pragma once
/// Adam, exactly as Keras (TensorFlow's ApplyAdam): lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t);
/// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr_t * m / (sqrt(v) + eps).
#include <cstdint>
#include <vector>

#include "mystyle/nn/layer.h"

namespace mystyle::nn {

struct AdamSettings {
  float learning_rate = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-7f;  ///< Keras's default (PyTorch uses 1e-8)
};

class Adam {
 public:
  /// Optimises the trainable tensors among `params` (pointers must outlive the optimiser).
  Adam(std::vector<Param*> params, AdamSettings settings = {});

  /// Applies one update from each parameter's current `grad`.
  void step();

  std::int64_t step_count() const { return step_; }
  const AdamSettings& settings() const { return settings_; }
  /// Changes the learning rate of the following steps (a schedule).
  void set_learning_rate(float rate) { settings_.learning_rate = rate; }
  /// First and second moments, one vector per trainable tensor, in order (for checkpoints).
  std::vector<std::vector<float>>& first_moments() { return m_; }
  std::vector<std::vector<float>>& second_moments() { return v_; }
  const std::vector<std::vector<float>>& first_moments() const { return m_; }
  const std::vector<std::vector<float>>& second_moments() const { return v_; }
  void set_step_count(std::int64_t step) { step_ = step; }

 private:
  std::vector<Param*> params_;
  AdamSettings settings_;
  std::vector<std::vector<float>> m_, v_;
  std::int64_t step_ = 0;
};

}  // namespace mystyle::nn
