#include "mystyle/nn/pixel_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/nn/model.h"
#include "mystyle/nn/rng.h"
#include "nn/gradient_check.h"

namespace mystyle::nn {
namespace {

std::vector<float> uniform(std::size_t n, std::uint64_t seed, float lo = -2.0f, float hi = 2.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

// Two pixels, two classes, written out by hand: pixel 0 is class 1 (weight 3), pixel 1 class 0
// (weight 1), the logits NCHW (class planes).
TEST(PixelCrossEntropy, MatchesHandComputedWeightedMean) {
  const std::vector<float> logits = {0.0f, 2.0f,    // class 0 at pixels 0, 1
                                     1.0f, -1.0f};  // class 1
  const std::vector<std::int8_t> labels = {1, 0};
  const std::vector<float> weights = {1.0f, 3.0f};
  std::vector<float> grad(4);
  PixelLossStats stats;
  const double loss = pixel_cross_entropy(logits, labels, 1, 2, weights, grad, &stats);
  const double l0 = std::log(std::exp(0.0) + std::exp(1.0)) - 1.0;   // -log p(class 1) at pixel 0
  const double l1 = std::log(std::exp(2.0) + std::exp(-1.0)) - 2.0;  // -log p(class 0) at pixel 1
  EXPECT_NEAR(loss, (3 * l0 + 1 * l1) / 4, 1e-9);
  EXPECT_EQ(stats.pixels, 2);
  EXPECT_EQ(stats.correct, 2);  // pixel 0's largest logit is class 1, pixel 1's class 0
  const double p01 = std::exp(1.0) / (std::exp(0.0) + std::exp(1.0));
  EXPECT_NEAR(grad[2], 3 * (p01 - 1) / 4, 1e-6);  // class 1 at pixel 0
  EXPECT_NEAR(grad[0], 3 * (1 - p01) / 4, 1e-6);  // class 0 at pixel 0
}

TEST(PixelCrossEntropy, GradientMatchesFiniteDifferences) {
  const int n = 2, classes = 4, hw = 6;
  std::vector<float> logits = uniform(static_cast<std::size_t>(n * classes * hw), 3);
  std::vector<std::int8_t> labels(static_cast<std::size_t>(n * hw));
  for (std::size_t i = 0; i < labels.size(); ++i)
    labels[i] = static_cast<std::int8_t>(i % 5 == 4 ? -1 : i % 4);
  const std::vector<float> weights = {0.5f, 1.0f, 2.0f, 4.0f};
  std::vector<float> grad(logits.size()), scratch(logits.size());
  pixel_cross_entropy(logits, labels, n, classes, weights, grad);
  const float h = 1e-3f;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const float keep = logits[i];
    logits[i] = keep + h;
    const double up = pixel_cross_entropy(logits, labels, n, classes, weights, scratch);
    logits[i] = keep - h;
    const double down = pixel_cross_entropy(logits, labels, n, classes, weights, scratch);
    logits[i] = keep;
    EXPECT_NEAR(grad[i], (up - down) / (2 * h), 2e-4) << i;
  }
}

TEST(PixelCrossEntropy, IgnoredPixelsAndBadInputs) {
  const std::vector<float> logits = uniform(8, 4);
  std::vector<float> grad(8, 7.0f);
  const std::vector<float> weights = {1.0f, 1.0f};
  const std::vector<std::int8_t> none = {-1, -1, -1, -1};
  EXPECT_EQ(pixel_cross_entropy(logits, none, 1, 2, weights, grad), 0.0);
  for (float g : grad) EXPECT_EQ(g, 0.0f);
  const std::vector<std::int8_t> out_of_range = {0, 2, 0, 0};
  EXPECT_THROW(pixel_cross_entropy(logits, out_of_range, 1, 2, weights, grad), Error);
  const std::vector<float> negative = {1.0f, -1.0f};
  EXPECT_THROW(pixel_cross_entropy(logits, none, 1, 2, negative, grad), Error);
  std::vector<float> short_grad(7);
  EXPECT_THROW(pixel_cross_entropy(logits, none, 1, 2, weights, short_grad), Error);
  EXPECT_THROW(pixel_cross_entropy(logits, none, 1, 3, weights, grad), Error);  // 8 is not 1 x 3 x pixels
}

TEST(PixelArgmax, PicksTheLargestLogit) {
  const std::vector<float> logits = {0.0f, 5.0f,  1.0f,   // class 0
                                     2.0f, -1.0f, 1.5f,   // class 1
                                     1.0f, 0.0f,  3.0f};  // class 2
  std::vector<std::int8_t> out(3);
  pixel_argmax(logits, 1, 3, out);
  EXPECT_EQ(out, (std::vector<std::int8_t>{1, 0, 2}));
}

// compute_output_gradients: a small encoder-decoder's logits under the pixel loss; every weight's
// gradient against central differences of the inference loss (no batch norm, so they agree).
TEST(OutputGradients, ParsingNetWeightsMatchFiniteDifferences) {
  const ModelSpec spec = parse_model_spec(
      "model tinyparse\ninput 3 8\nconv 4 relu\nmaxpool\nconv 6 relu\nlatent\nupsample\nconv 3\n");
  Model model(spec, 11);
  const int batch = 2, classes = 3, hw = 8 * 8;
  std::vector<float> pixels = uniform(static_cast<std::size_t>(batch) * 3 * hw, 6, 0.0f, 1.0f);
  std::vector<std::int8_t> labels(static_cast<std::size_t>(batch) * hw);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int8_t>((i / 5) % 3);
  const std::vector<float> weights = {1.0f, 2.0f, 0.5f};
  auto loss_of = [&](std::span<const float> z, std::span<float> g) {
    return pixel_cross_entropy(z, labels, batch, classes, weights, g);
  };
  for (Param* p : model.params()) std::fill(p->grad.begin(), p->grad.end(), 1.0f);  // stale values
  const double trained = model.compute_output_gradients(pixels, batch, loss_of);
  auto loss_now = [&] {
    std::vector<float> z(static_cast<std::size_t>(batch * classes * hw)), g(z.size());
    model.reconstruct(pixels, batch, z);
    return pixel_cross_entropy(z, labels, batch, classes, weights, g);
  };
  EXPECT_NEAR(trained, loss_now(), 1e-5);
  EXPECT_GT(testing::expect_weight_gradients(model, loss_now, 1e-2f, 10), 30);
}

}  // namespace
}  // namespace mystyle::nn
