#include "mystyle/nn/adam.h"

#include <cmath>

namespace mystyle::nn {

Adam::Adam(std::vector<Param*> params, AdamSettings settings) : settings_(settings) {
  for (Param* p : params) {
    if (!p->trainable) continue;
    params_.push_back(p);
    m_.emplace_back(p->value.size(), 0.0f);
    v_.emplace_back(p->value.size(), 0.0f);
  }
}

void Adam::step() {
  ++step_;
  const double t = static_cast<double>(step_);
  const auto lr_t =
      static_cast<float>(settings_.learning_rate * std::sqrt(1.0 - std::pow(settings_.beta2, t)) /
                         (1.0 - std::pow(settings_.beta1, t)));
  const float b1 = settings_.beta1, b2 = settings_.beta2, eps = settings_.epsilon;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    float* w = params_[k]->value.data();
    const float* g = params_[k]->grad.data();
    float* m = m_[k].data();
    float* v = v_[k].data();
    const std::size_t n = params_[k]->value.size();
    for (std::size_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      w[i] -= lr_t * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
}

}  // namespace mystyle::nn
