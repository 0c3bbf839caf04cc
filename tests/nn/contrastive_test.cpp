#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/nn/contrastive_loss.h"
#include "mystyle/nn/model.h"
#include "mystyle/nn/rng.h"
#include "nn/gradient_check.h"

namespace mystyle::nn {
namespace {

std::vector<float> random_rows(int rows, int dim, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(rows) * dim);
  for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
  return v;
}

// Two views of each image exactly aligned, every other pair orthogonal: the loss has a closed form.
TEST(NtXent, MatchesClosedFormOnOrthogonalPairs) {
  const int n = 3, dim = 4, m = 2 * n;
  std::vector<float> rows(static_cast<std::size_t>(m) * dim, 0.0f);
  for (int i = 0; i < n; ++i) {
    rows[static_cast<std::size_t>(i) * dim + i] = 2.0f;      // view 1 of image i: axis i
    rows[static_cast<std::size_t>(i + n) * dim + i] = 0.5f;  // view 2: same axis, other length
  }
  std::vector<float> grad(rows.size());
  const double t = 0.5;
  const double expected = -1.0 / t + std::log(std::exp(1.0 / t) + (m - 2));
  EXPECT_NEAR(nt_xent_loss(rows, m, dim, t, grad), expected, 1e-12);
}

// The gradient against central finite differences of the loss (in double, on float inputs).
TEST(NtXent, GradientMatchesFiniteDifferences) {
  const int m = 6, dim = 5;
  auto rows = random_rows(m, dim, 3);
  std::vector<float> grad(rows.size()), scratch(rows.size());
  nt_xent_loss(rows, m, dim, 0.3, grad);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const float h = 1e-3f, keep = rows[i];
    rows[i] = keep + h;
    const double up = nt_xent_loss(rows, m, dim, 0.3, scratch);
    rows[i] = keep - h;
    const double down = nt_xent_loss(rows, m, dim, 0.3, scratch);
    rows[i] = keep;
    const double numeric = (up - down) / (static_cast<double>(keep + h) - static_cast<double>(keep - h));
    EXPECT_NEAR(grad[i], numeric, 2e-4 + 1e-3 * std::abs(numeric)) << "element " << i;
  }
}

TEST(NtXent, BadShapesAreErrors) {
  std::vector<float> rows(15), grad(15);
  EXPECT_THROW(nt_xent_loss(rows, 3, 5, 0.2, grad), Error);  // odd row count
  std::vector<float> even(20), g(19);
  EXPECT_THROW(nt_xent_loss(even, 4, 5, 0.2, g), Error);
  std::vector<float> g20(20);
  EXPECT_THROW(nt_xent_loss(even, 4, 5, 0.0, g20), Error);
}

// compute_latent_gradients: the encoder's gradients are those of the latent loss (checked by finite
// differences on encoder weights) and the decoder's are zero.
TEST(LatentGradients, EncoderGradientsMatchFiniteDifferences) {
  const ModelSpec spec = parse_model_spec(
      "model tiny\ninput 3 8\nconv 4 relu\nmaxpool\nlatent\nconv 4 relu\nupsample\nconv 3 sigmoid\n");
  Model model(spec, 9);
  const int batch = 4;
  const auto images = random_rows(batch, 3 * 8 * 8, 5);
  std::vector<float> pixels(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) pixels[i] = 0.5f + 0.5f * images[i];
  const int dim = model.feature_size(LatentPooling::kFlat);
  auto loss_of = [&](std::span<const float> f, std::span<float> g) {
    return nt_xent_loss(f, batch, dim, 0.5, g);
  };
  for (Param* p : model.params()) std::fill(p->grad.begin(), p->grad.end(), 1.0f);  // stale values
  model.compute_latent_gradients(pixels, batch, loss_of);
  const auto params = model.params();
  // The same loss computed from encode() (inference) equals the training forward: no batch norm here.
  auto loss_now = [&] {
    std::vector<float> f(static_cast<std::size_t>(batch) * dim), g(f.size());
    model.encode(pixels, batch, LatentPooling::kFlat, f);
    return nt_xent_loss(f, batch, dim, 0.5, g);
  };
  bool checked_encoder = false;
  for (std::size_t l = 0; l < model.num_layers(); ++l) {
    for (Param* p : model.layer(l).params()) {
      if (!p->trainable) continue;
      if (l >= static_cast<std::size_t>(spec.encoder_layers)) {
        for (float g : p->grad) EXPECT_EQ(g, 0.0f) << p->name;
        continue;
      }
      checked_encoder = testing::expect_finite_differences(model, *p, loss_now, 1e-2f, 12) > 0 || checked_encoder;
    }
  }
  EXPECT_TRUE(checked_encoder);
}

}  // namespace
}  // namespace mystyle::nn
