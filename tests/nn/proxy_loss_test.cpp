#include "mystyle/nn/proxy_loss.h"

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

ProxyLoss two_heads(int dim) {
  return ProxyLoss(dim, {{"type", 3, 1.0}, {"colour", 4, 0.5}}, 4.0, 7);
}

// One head, two classes, proxies along two axes: the loss has a closed form.
TEST(ProxyLoss, MatchesClosedForm) {
  ProxyLoss loss(2, {{"type", 2, 1.0}}, 3.0, 1);
  auto params = loss.params();
  params[0]->value = {2.0f, 0.0f, 0.0f, 0.5f};            // proxy 0 = x axis, proxy 1 = y axis (any length)
  const std::vector<float> f = {5.0f, 0.0f, 1.0f, 1.0f};  // image 0 on x, image 1 at 45 degrees
  std::vector<float> grad(4);
  std::vector<ProxyHeadStats> stats;
  const double value = loss.compute(f, 2, {{0, 1}}, grad, &stats);
  const double c = std::sqrt(0.5);
  const double l0 = -3.0 + std::log(std::exp(3.0) + std::exp(0.0));
  const double l1 = -3.0 * c + std::log(2 * std::exp(3.0 * c));
  EXPECT_NEAR(value, (l0 + l1) / 2, 1e-12);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].labelled, 2);
  EXPECT_EQ(stats[0].correct, 1);  // image 1 ties: the first proxy wins, so it counts as wrong
}

// With a margin m the true class's logit is scale * (cos - m); the nearest proxy still decides accuracy.
TEST(ProxyLoss, MatchesClosedFormWithAMargin) {
  ProxyLoss loss(2, {{"type", 2, 1.0}}, 3.0, 1, /*margin=*/0.2);
  EXPECT_EQ(loss.margin(), 0.2);
  auto params = loss.params();
  params[0]->value = {2.0f, 0.0f, 0.0f, 0.5f};
  const std::vector<float> f = {5.0f, 0.0f, 1.0f, 1.0f};
  std::vector<float> grad(4);
  std::vector<ProxyHeadStats> stats;
  const double value = loss.compute(f, 2, {{0, 1}}, grad, &stats);
  const double c = std::sqrt(0.5);
  const double l0 = -3.0 * 0.8 + std::log(std::exp(3.0 * 0.8) + std::exp(0.0));
  const double l1 = -3.0 * (c - 0.2) + std::log(std::exp(3.0 * c) + std::exp(3.0 * (c - 0.2)));
  EXPECT_NEAR(value, (l0 + l1) / 2, 1e-12);
  EXPECT_EQ(stats[0].correct, 1);
  EXPECT_THROW(ProxyLoss(2, {{"type", 2, 1.0}}, 3.0, 1, -0.1), Error);
  EXPECT_THROW(ProxyLoss(2, {{"type", 2, 1.0}}, 3.0, 1, 1.0), Error);
}

// Gradients with respect to the features and to every proxy, against central finite differences,
// without and with a margin.
void expect_gradients_match_finite_differences(ProxyLoss loss) {
  const int n = 5, dim = loss.dim();
  auto f = random_values(static_cast<std::size_t>(n) * dim, 3);
  const std::vector<std::vector<int>> labels = {{0, 2, -1, 1, 0}, {3, -1, 1, 0, 2}};
  std::vector<float> grad(f.size()), scratch(f.size());
  loss.compute(f, n, labels, grad);
  std::vector<std::vector<float>> proxy_grads;
  for (Param* p : loss.params()) proxy_grads.push_back(p->grad);
  auto numeric = [&](float& x) {
    const float keep = x, h = 1e-3f;
    x = keep + h;
    const double up = loss.compute(f, n, labels, scratch);
    x = keep - h;
    const double down = loss.compute(f, n, labels, scratch);
    x = keep;
    return (up - down) / (static_cast<double>(keep + h) - static_cast<double>(keep - h));
  };
  for (std::size_t i = 0; i < f.size(); ++i) {
    const double d = numeric(f[i]);
    EXPECT_NEAR(grad[i], d, 2e-4 + 1e-3 * std::abs(d)) << "feature " << i;
  }
  const auto params = loss.params();
  for (std::size_t p = 0; p < params.size(); ++p) {
    for (std::size_t i = 0; i < params[p]->value.size(); ++i) {
      const double d = numeric(params[p]->value[i]);
      EXPECT_NEAR(proxy_grads[p][i], d, 2e-4 + 1e-3 * std::abs(d)) << params[p]->name << "[" << i << "]";
    }
  }
}

TEST(ProxyLoss, GradientsMatchFiniteDifferences) {
  expect_gradients_match_finite_differences(two_heads(6));
  expect_gradients_match_finite_differences(
      ProxyLoss(6, {{"type", 3, 1.0}, {"colour", 4, 0.5}}, 4.0, 7, 0.35));
}

// The loss depends on the features' directions only: scaling a row changes nothing.
TEST(ProxyLoss, InvariantToFeatureLength) {
  const int n = 3, dim = 4;
  ProxyLoss loss = two_heads(dim);
  auto f = random_values(static_cast<std::size_t>(n) * dim, 5);
  const std::vector<std::vector<int>> labels = {{0, 1, 2}, {3, 2, 1}};
  std::vector<float> grad(f.size());
  const double before = loss.compute(f, n, labels, grad);
  for (int k = 0; k < dim; ++k) f[static_cast<std::size_t>(dim) + k] *= 4.0f;  // exact in float
  EXPECT_NEAR(loss.compute(f, n, labels, grad), before, 1e-9);
}

TEST(ProxyLoss, BadInputsAreErrors) {
  ProxyLoss loss = two_heads(4);
  std::vector<float> f(8), grad(8), short_grad(7);
  EXPECT_THROW(loss.compute(f, 2, {{0, 1}, {0, 1}}, short_grad), Error);
  EXPECT_THROW(loss.compute(f, 2, {{0, 1}}, grad), Error);          // one head's labels missing
  EXPECT_THROW(loss.compute(f, 2, {{0, 3}, {0, 1}}, grad), Error);  // label past the classes
  EXPECT_THROW(ProxyLoss(4, {}, 1.0, 1), Error);
  EXPECT_THROW(ProxyLoss(4, {{"x", 0, 1.0}}, 1.0, 1), Error);
}

// An encoder-only model ending in l2norm: encode() returns unit rows, and compute_latent_gradients
// with the proxy loss gives the encoder's gradients (finite differences on the weights).
TEST(ProxyLoss, TrainsAnEncoderOnlyModel) {
  const ModelSpec spec = parse_model_spec("model tiny\ninput 3 8\nconv 4 relu\nmaxpool\nlinear 5\nl2norm\n");
  ASSERT_TRUE(is_encoder_only(spec));
  ASSERT_TRUE(spec.l2_normalize);
  EXPECT_EQ(parse_model_spec(format_model_spec(spec)), spec);
  Model model(spec, 9);
  const int batch = 4, dim = model.feature_size(LatentPooling::kFlat);
  ASSERT_EQ(dim, 5);
  auto pixels = random_values(static_cast<std::size_t>(batch) * 3 * 8 * 8, 11);
  for (float& p : pixels) p = 0.5f + 0.5f * p;
  std::vector<float> codes(static_cast<std::size_t>(batch) * dim);
  model.encode(pixels, batch, LatentPooling::kFlat, codes);
  for (int b = 0; b < batch; ++b) {
    double s = 0;
    for (int k = 0; k < dim; ++k)
      s += codes[static_cast<std::size_t>(b) * dim + k] * codes[static_cast<std::size_t>(b) * dim + k];
    EXPECT_NEAR(s, 1.0, 1e-5);
  }
  ProxyLoss loss(dim, {{"type", 3, 1.0}}, 5.0, 2);
  const std::vector<std::vector<int>> labels = {{0, 1, 2, 1}};
  model.compute_latent_gradients(pixels, batch, [&](std::span<const float> f, std::span<float> g) {
    return loss.compute(f, batch, labels, g);
  });
  auto loss_now = [&] {
    std::vector<float> f(codes.size()), g(codes.size());
    model.encode(pixels, batch, LatentPooling::kFlat, f);
    return loss.compute(f, batch, labels, g);
  };
  const int checked = testing::expect_weight_gradients(model, loss_now, 1e-2f, 10);
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace mystyle::nn
