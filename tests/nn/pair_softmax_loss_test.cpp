// The compatibility model's loss: a closed form, finite differences on the rows, and the gradient
// of a small vector model's weights through it (input C x 1 x 1, linear layers, as `compat` is).
#include "mystyle/nn/pair_softmax_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/nn/model.h"
#include "mystyle/nn/rng.h"
#include "nn/gradient_check.h"

namespace mystyle::nn {
namespace {

std::vector<float> random_values(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(count);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// One anchor, two candidates in 2-D: positive pair at 0 degrees, negative pair at 90 degrees.
TEST(PairSoftmaxLoss, MatchesClosedForm) {
  const std::vector<float> rows = {3, 0, 1, 0,    // anchor | positive, positive | anchor: cos 1
                                   0, 2, 5, 0};   // anchor | negative, negative | anchor: cos 0
  std::vector<float> grad(rows.size());
  std::int64_t correct = -1;
  const double value = pair_softmax_loss(rows, 1, 2, 2, 4.0, grad, &correct);
  EXPECT_NEAR(value, std::log(std::exp(4.0) + 1.0) - 4.0, 1e-12);
  EXPECT_EQ(correct, 1);
  // Swapping which candidate is the positive makes it wrong.
  const std::vector<float> swapped = {0, 2, 5, 0, 3, 0, 1, 0};
  pair_softmax_loss(swapped, 1, 2, 2, 4.0, grad, &correct);
  EXPECT_EQ(correct, 0);
}

TEST(PairSoftmaxLoss, GradientMatchesFiniteDifferences) {
  const int anchors = 3, candidates = 4, dim = 5;
  auto rows = random_values(static_cast<std::size_t>(2 * anchors * candidates * dim), 3);
  std::vector<float> grad(rows.size()), scratch(rows.size());
  pair_softmax_loss(rows, anchors, candidates, dim, 6.0, grad);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const float keep = rows[i], h = 1e-3f;
    rows[i] = keep + h;
    const double up = pair_softmax_loss(rows, anchors, candidates, dim, 6.0, scratch);
    rows[i] = keep - h;
    const double down = pair_softmax_loss(rows, anchors, candidates, dim, 6.0, scratch);
    rows[i] = keep;
    const double d = (up - down) / (2.0 * h);
    EXPECT_NEAR(grad[i], d, 1e-3 + 1e-2 * std::abs(d)) << "row value " << i;
  }
}

TEST(PairSoftmaxLoss, RefusesBadShapes) {
  std::vector<float> rows(2 * 2 * 3), grad(rows.size());
  EXPECT_THROW(pair_softmax_loss(rows, 1, 1, 3, 1.0, grad), Error);       // one candidate
  EXPECT_THROW(pair_softmax_loss(rows, 1, 2, 3, 0.0, grad), Error);       // scale 0
  EXPECT_THROW(pair_softmax_loss(rows, 2, 2, 3, 1.0, grad), Error);       // too few rows
  std::vector<float> short_grad(3);
  EXPECT_THROW(pair_softmax_loss(rows, 1, 2, 3, 1.0, short_grad), Error);  // gradient size
}

// The compat network shape: features as channels of a 1 x 1 input, two linear layers. Weight
// gradients through the loss against finite differences of the whole pipeline.
TEST(PairSoftmaxLoss, WeightGradientsThroughAVectorModel) {
  const ModelSpec spec = parse_model_spec("model tinycompat\ninput 6 1\nlinear 8 relu\nlinear 4\nlatent\nl2norm\n");
  ASSERT_TRUE(is_encoder_only(spec));
  Model model(spec, 4);
  const int anchors = 2, candidates = 3, batch = 2 * anchors * candidates, dim = 4;
  ASSERT_EQ(model.feature_size(LatentPooling::kFlat), dim);
  const auto inputs = random_values(static_cast<std::size_t>(batch) * 6, 8);
  model.compute_latent_gradients(inputs, batch, [&](std::span<const float> f, std::span<float> g) {
    return pair_softmax_loss(f, anchors, candidates, dim, 5.0, g);
  });
  auto loss_now = [&] {
    std::vector<float> f(static_cast<std::size_t>(batch) * dim), g(f.size());
    model.encode(inputs, batch, LatentPooling::kFlat, f);
    return pair_softmax_loss(f, anchors, candidates, dim, 5.0, g);
  };
  const int checked = testing::expect_weight_gradients(model, loss_now, 2e-3f, 12);
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace mystyle::nn
