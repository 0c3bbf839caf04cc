// Every layer's backward against central finite differences of a double-precision reference.
// Why a separate double reference instead of differencing the float forward: with float
// outputs a central difference needs a large step (rounding ~1e-7 / h), whose truncation error
// then hides small gradient bugs; in double h = 1e-6 gives ~1e-9 accuracy, so the only error
// left is the float arithmetic of the analytic gradient, and the reference also checks the
// oneDNN forward pass itself (it must give the same loss).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "mystyle/core/error.h"
#include "mystyle/nn/model.h"
#include "mystyle/nn/rng.h"
#include "reference_net.h"

namespace mystyle::nn {
namespace {

constexpr double kStep = 1e-6;
constexpr double kRelTol = 2e-3;  // of the largest sampled gradient of the tensor
constexpr std::size_t kSamples = 16;

struct Case {
  std::string spec;
  int batch;
  LossKind loss;
};

std::vector<std::size_t> sample_indices(std::size_t n, Rng& rng) {
  std::vector<std::size_t> idx;
  if (n <= kSamples) {
    for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (std::size_t k = 0; k < kSamples; ++k) idx.push_back(rng.below(n));
  }
  return idx;
}

void expect_close(const std::vector<double>& numeric, const std::vector<double>& analytic,
                  const std::string& what) {
  double scale = 1e-8;
  for (double v : numeric) scale = std::max(scale, std::abs(v));
  for (std::size_t k = 0; k < numeric.size(); ++k) {
    EXPECT_NEAR(analytic[k], numeric[k], kRelTol * scale) << what << " sample " << k;
  }
}

void check_gradients(const Case& c) {
  SCOPED_TRACE(c.spec);
  Model model(parse_model_spec(c.spec), /*init_seed=*/7);
  Rng rng(11);
  // Non-trivial biases and batch-norm affine parameters, so their gradients are exercised.
  for (Param* p : model.params()) {
    if (p->name == "bias" || p->name == "beta")
      for (auto& v : p->value) v = rng.uniform(-0.3f, 0.3f);
    if (p->name == "gamma")
      for (auto& v : p->value) v = rng.uniform(0.5f, 1.5f);
  }
  std::vector<float> x(static_cast<std::size_t>(c.batch * model.input_shape().size()));
  for (auto& v : x) v = rng.uniform(-1.0f, 1.0f);
  std::vector<float> t(static_cast<std::size_t>(c.batch * model.output_shape().size()));
  for (auto& v : t) v = rng.uniform(0.05f, 0.95f);

  std::vector<float> input_grad(x.size());
  const double loss = model.compute_gradients(x, t, c.batch, c.loss, input_grad);

  const auto params = model.params();
  std::vector<std::vector<double>> ref_params;
  for (const Param* p : params) ref_params.emplace_back(p->value.begin(), p->value.end());
  std::vector<double> ref_x(x.begin(), x.end());
  const ModelSpec& spec = model.spec();
  const auto ref_loss = [&] {
    return testing::reference_loss(c.loss, testing::reference_forward(spec, ref_params, ref_x, c.batch), t);
  };
  EXPECT_NEAR(loss, ref_loss(), 1e-5 * std::max(1.0, std::abs(loss))) << "forward differs from the reference";

  const auto central = [&](double& value) {
    const double saved = value;
    value = saved + kStep;
    const double up = ref_loss();
    value = saved - kStep;
    const double down = ref_loss();
    value = saved;
    return (up - down) / (2 * kStep);
  };
  for (std::size_t k = 0; k < params.size(); ++k) {
    if (!params[k]->trainable) continue;
    std::vector<double> numeric, analytic;
    for (const std::size_t i : sample_indices(params[k]->value.size(), rng)) {
      numeric.push_back(central(ref_params[k][i]));
      analytic.push_back(params[k]->grad[i]);
    }
    expect_close(numeric, analytic, "tensor " + std::to_string(k) + " (" + params[k]->name + ")");
  }
  std::vector<double> numeric, analytic;
  for (const std::size_t i : sample_indices(x.size(), rng)) {
    numeric.push_back(central(ref_x[i]));
    analytic.push_back(input_grad[i]);
  }
  expect_close(numeric, analytic, "input");
}

TEST(Gradient, Conv2dPlainInput) {
  check_gradients({"input 3 6\nconv 8", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, Conv2dBlockedRelu) {
  check_gradients({"input 8 6\nconv 16 relu", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, Conv2dToThreeChannels) {
  check_gradients({"input 8 6\nconv 3", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, Conv2dSigmoidWithCrossEntropy) {
  // The fused (y - t) / n gradient through the final sigmoid.
  check_gradients({"input 8 4\nconv 3 sigmoid", 2, LossKind::kBinaryCrossEntropy});
}
TEST(Gradient, Conv2dSigmoidWithMse) {
  check_gradients({"input 8 4\nconv 8 sigmoid", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, MaxPool) {
  check_gradients({"input 8 6\nmaxpool", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, Upsample) {
  check_gradients({"input 8 3\nupsample", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, Relu) {
  check_gradients({"input 8 4\nrelu", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, Sigmoid) {
  check_gradients({"input 8 4\nsigmoid", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, SigmoidWithCrossEntropy) {
  check_gradients({"input 3 4\nsigmoid", 2, LossKind::kBinaryCrossEntropy});
}
TEST(Gradient, BatchNorm) {
  check_gradients({"input 8 4\nbatchnorm", 3, LossKind::kMeanSquaredError});
}
TEST(Gradient, Linear) {
  check_gradients({"input 8 2\nlinear 5", 3, LossKind::kMeanSquaredError});
}
TEST(Gradient, LinearSigmoid) {
  check_gradients({"input 3 4\nlinear 6 sigmoid", 3, LossKind::kBinaryCrossEntropy});
}

// Skip connections (skip.h): the gradient at an add reaches the layers before its push both ways.
TEST(Gradient, SkipAroundAConvolution) {
  check_gradients({"input 8 4\npush\nconv 8 relu\nadd", 2, LossKind::kMeanSquaredError});
}
TEST(Gradient, SkipOnPlainLayouts) {
  check_gradients({"input 3 4\nconv 3\npush\nconv 3 relu\nadd\nconv 3", 2, LossKind::kMeanSquaredError});
}
// A small U-Net: two nested skips across pooling and upsampling, 8- and 16-channel blocked layouts.
TEST(Gradient, SmallUNet) {
  check_gradients(
      {"input 3 8\nconv 8 relu\npush\nmaxpool\nconv 16 relu\nbatchnorm\npush\nmaxpool\nconv 16 relu\n"
       "upsample\nadd\nconv 8 relu\nupsample\nadd\nconv 3 sigmoid",
       3, LossKind::kBinaryCrossEntropy});
}
TEST(SkipSpec, AnAddNeedsAPushOfItsShape) {
  EXPECT_THROW(Model(parse_model_spec("input 3 4\npush\nmaxpool\nadd"), 1), Error);
  EXPECT_THROW(Model(parse_model_spec("input 3 4\nconv 3\nadd"), 1), Error);
  EXPECT_THROW(spec_parameter_count(parse_model_spec("input 3 4\npush\nconv 5\nadd")), Error);
  const ModelSpec ok = parse_model_spec("input 3 4\npush\nconv 3\nadd");
  EXPECT_EQ(parse_model_spec(format_model_spec(ok)), ok);
}

// A small autoencoder with every layer kind on the path, BCE on a sigmoid output.
TEST(Gradient, SmallAutoencoder) {
  check_gradients(
      {"input 3 8\nconv 8 relu\nbatchnorm\nmaxpool\nconv 16 relu\nmaxpool\nlatent\n"
       "conv 8 sigmoid\nupsample\nconv 8 relu\nupsample\nconv 3 sigmoid",
       3, LossKind::kBinaryCrossEntropy});
}

}  // namespace
}  // namespace mystyle::nn
