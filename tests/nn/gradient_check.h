#pragma once
// Central finite differences of a whole model + loss against the gradients backward wrote: the
// check every loss and layer test of nn/ makes on a model's weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "mystyle/nn/model.h"

namespace mystyle::nn::testing {

/// For the first `per_tensor` values of trainable parameter `p` (its grad already computed):
/// (loss(v + h) - loss(v - h)) / 2h against grad, tolerance 2e-3 + 2e-2 |numeric|. The model's
/// plans are rebuilt around each change (they may hold the weights in another layout). Returns how
/// many values were checked.
template <typename LossNow>
int expect_finite_differences(Model& model, Param& p, LossNow&& loss_now, float h, std::size_t per_tensor) {
  int checked = 0;
  for (std::size_t i = 0; i < std::min(p.value.size(), per_tensor); ++i) {
    const float keep = p.value[i];
    p.value[i] = keep + h;
    model.release_plans();
    const double up = loss_now();
    p.value[i] = keep - h;
    model.release_plans();
    const double down = loss_now();
    p.value[i] = keep;
    model.release_plans();
    const double numeric = (up - down) / (2.0 * h);
    EXPECT_NEAR(p.grad[i], numeric, 2e-3 + 2e-2 * std::abs(numeric)) << p.name << "[" << i << "]";
    ++checked;
  }
  return checked;
}

/// expect_finite_differences over every trainable parameter of `model`.
template <typename LossNow>
int expect_weight_gradients(Model& model, LossNow&& loss_now, float h, std::size_t per_tensor) {
  int checked = 0;
  for (Param* p : model.params()) {
    if (p->trainable) checked += expect_finite_differences(model, *p, loss_now, h, per_tensor);
  }
  return checked;
}

}  // namespace mystyle::nn::testing
