#pragma once
// A straightforward double-precision forward pass of a ModelSpec (plain loops, no oneDNN), the
// trusted reference for the finite-difference gradient checks. Batch norm uses batch statistics
// (training mode), as the gradients being checked do.
#include <vector>

#include "mystyle/nn/loss.h"
#include "mystyle/nn/model_spec.h"

namespace mystyle::nn::testing {

/// `params`: every tensor of the model in Model::params() order, as doubles.
/// `input`: [batch, C, S, S] NCHW. Returns the output, NCHW.
std::vector<double> reference_forward(const ModelSpec& spec, const std::vector<std::vector<double>>& params,
                                      const std::vector<double>& input, int batch);

/// The loss in double: BCE without clipping (test outputs stay inside (0, 1)) or MSE.
double reference_loss(LossKind kind, const std::vector<double>& y, const std::vector<float>& t);

}  // namespace mystyle::nn::testing
