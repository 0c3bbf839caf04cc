#include "mystyle/nn/model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "mystyle/core/error.h"
#include "mystyle/nn/adam.h"
#include "mystyle/nn/batch_norm.h"
#include "mystyle/nn/conv2d.h"
#include "mystyle/nn/rng.h"
#include "mystyle/nn/image_set.h"

namespace mystyle::nn {
namespace {

std::vector<float> smooth_images(int count, int side) {
  std::vector<float> x(static_cast<std::size_t>(count) * 3 * side * side);
  std::size_t i = 0;
  for (int n = 0; n < count; ++n)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < side; ++y)
        for (int xx = 0; xx < side; ++xx)
          x[i++] = 0.5f + 0.4f * std::sin(0.1f * (n + 1) * xx + 0.07f * (c + 1) * y + static_cast<float>(n));
  return x;
}

// The original's parameter counts (Keras model.summary()).
TEST(Model, Seed64ParameterCounts) {
  Model m(builtin_model_spec("seed64"), 1);
  const auto enc = static_cast<std::size_t>(m.spec().encoder_layers);
  EXPECT_EQ(m.parameter_count(ParamCounting::kKeras, 0, enc), 7264);
  EXPECT_EQ(m.parameter_count(ParamCounting::kKeras, enc), 7843);
  EXPECT_EQ(m.parameter_count(ParamCounting::kTrainable), 15107);
  EXPECT_EQ(m.latent_shape(), (TensorShape{8, 4, 4}));
  EXPECT_EQ(m.output_shape(), (TensorShape{3, 64, 64}));
}

TEST(Model, Seed128ParameterCounts) {
  Model m(builtin_model_spec("seed128"), 1);
  EXPECT_EQ(m.parameter_count(ParamCounting::kKeras), 301715);
  EXPECT_EQ(m.parameter_count(ParamCounting::kTrainable), 301267);
  EXPECT_EQ(m.latent_shape(), (TensorShape{8, 4, 4}));
  EXPECT_EQ(m.output_shape(), (TensorShape{3, 128, 128}));
}

TEST(Model, KerasInitialisation) {
  Model m(builtin_model_spec("seed128"), 5);
  for (std::size_t i = 0; i < m.num_layers(); ++i) {
    for (const Param* p : m.layer(i).params()) {
      if (p->name == "bias" || p->name == "beta" || p->name == "moving_mean") {
        for (float v : p->value) ASSERT_EQ(v, 0.0f);
      } else if (p->name == "gamma" || p->name == "moving_variance") {
        for (float v : p->value) ASSERT_EQ(v, 1.0f);
      } else {
        // Glorot uniform: |w| <= sqrt(6 / (fan_in + fan_out)), fans = 9 * channels.
        const double limit = std::sqrt(6.0 / (9.0 * (p->dims[0] + p->dims[1])));
        for (float v : p->value) ASSERT_LE(std::abs(v), limit);
      }
    }
  }
}

TEST(ModelSpec, TextRoundTrip) {
  for (const auto& name : builtin_model_names()) {
    const ModelSpec spec = builtin_model_spec(name);
    EXPECT_EQ(parse_model_spec(format_model_spec(spec)), spec) << name;
  }
}

TEST(ModelSpec, ErrorsNameTheLine) {
  try {
    parse_model_spec("input 3 64\nconv 32 relu\nconv x\n");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_model_spec("input 3 64\nwarp 3\n"), Error);
  EXPECT_THROW(parse_model_spec("conv 3\n"), Error);
  EXPECT_THROW(parse_model_spec("input 3 64\nconv 8 tanh\n"), Error);
  EXPECT_THROW(Model(parse_model_spec("input 3 6\nmaxpool\nmaxpool\n"), 1), Error);  // 3x3 cannot pool
}

// The mean feature is the per-channel average of the flat latent (documented C, H, W order).
TEST(Model, EncodeFlatAndMeanAgree) {
  Model m(builtin_model_spec("seed64"), 3);
  const int batch = 5;
  const auto x = smooth_images(batch, 64);
  std::vector<float> flat(batch * 128), mean(batch * 8);
  m.encode(x, batch, LatentPooling::kFlat, flat);
  m.encode(x, batch, LatentPooling::kMean, mean);
  for (int b = 0; b < batch; ++b)
    for (int c = 0; c < 8; ++c) {
      double s = 0;
      for (int i = 0; i < 16; ++i) s += flat[b * 128 + c * 16 + i];
      EXPECT_NEAR(mean[b * 8 + c], s / 16, 1e-6);
    }
  // One image alone encodes like it does inside a batch.
  std::vector<float> one(128);
  m.encode(std::span<const float>(x).subspan(2 * 3 * 64 * 64, 3 * 64 * 64), 1, LatentPooling::kFlat, one);
  for (int i = 0; i < 128; ++i) EXPECT_NEAR(one[i], flat[2 * 128 + i], 1e-5);
  EXPECT_THROW(m.encode(x, batch + 1, LatentPooling::kFlat, flat), Error);
}

// Serving folds each batch norm into the convolution before it and lays weights out once; the
// result must be the unfused inference path's, with batch norms that really move the numbers
// (negative gammas included), at batch 1 and at a larger batch.
TEST(Model, ServingMatchesPlainInference) {
  Model m(builtin_model_spec("style"), 11);
  Rng rng(5);
  for (std::size_t i = 0; i < m.num_layers(); ++i) {
    auto* bn = dynamic_cast<BatchNorm*>(&m.layer(i));
    if (bn == nullptr) continue;
    for (std::size_t c = 0; c < bn->gamma().value.size(); ++c) {
      bn->gamma().value[c] = rng.uniform(-1.5f, 1.5f);
      bn->beta().value[c] = rng.uniform(-0.5f, 0.5f);
      bn->moving_mean().value[c] = rng.uniform(0.0f, 0.3f);
      bn->moving_variance().value[c] = rng.uniform(0.01f, 0.2f);
    }
  }
  const int batch = 6;
  const int side = m.spec().image_side_px;
  const auto x = smooth_images(batch, side);
  const int d = m.feature_size(LatentPooling::kFlat);
  std::vector<float> plain(static_cast<std::size_t>(batch * d)), served(plain.size()), one(d);
  m.encode(x, batch, LatentPooling::kFlat, plain);
  m.set_serving(true);
  m.encode(x, batch, LatentPooling::kFlat, served);
  m.encode(std::span<const float>(x).subspan(3 * 3 * side * side, 3 * side * side), 1, LatentPooling::kFlat,
           one);
  for (std::size_t i = 0; i < plain.size(); ++i) ASSERT_NEAR(served[i], plain[i], 2e-5) << i;
  for (int i = 0; i < d; ++i) ASSERT_NEAR(one[i], plain[static_cast<std::size_t>(3 * d + i)], 2e-5) << i;
  // Training while serving is refused; after serving ends, a changed weight is seen at once.
  EXPECT_THROW(m.compute_latent_gradients(x, batch, [](std::span<const float>, std::span<float>) { return 0.0; }),
               Error);
  m.set_serving(false);
  auto& conv = dynamic_cast<Conv2d&>(m.layer(0));
  for (float& w : conv.weight().value) w *= -1.0f;
  std::vector<float> changed(plain.size()), changed_served(plain.size());
  m.encode(x, batch, LatentPooling::kFlat, changed);
  double moved = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) moved += std::abs(changed[i] - plain[i]);
  EXPECT_GT(moved, 1e-2);
  m.set_serving(true);
  m.encode(x, batch, LatentPooling::kFlat, changed_served);
  for (std::size_t i = 0; i < plain.size(); ++i) ASSERT_NEAR(changed_served[i], changed[i], 2e-5) << i;
}

TEST(Model, ReconstructionIsInUnitInterval) {
  Model m(builtin_model_spec("seed64"), 3);
  const auto x = smooth_images(2, 64);
  std::vector<float> y(x.size());
  m.reconstruct(x, 2, y);
  for (float v : y) {
    ASSERT_GT(v, 0.0f);
    ASSERT_LT(v, 1.0f);
  }
}

TEST(ImageSet, BytesInBothOrdersMatchFloats) {
  // 2 images, 3 channels, 2x2: value = image*100 + channel*10 + pixel.
  std::vector<std::uint8_t> chw(24), hwc(24);
  std::vector<float> expect(24);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 4; ++p) {
        const auto v = static_cast<std::uint8_t>(n * 100 + c * 10 + p);
        chw[n * 12 + c * 4 + p] = v;
        hwc[n * 12 + p * 3 + c] = v;
        expect[n * 12 + c * 4 + p] = v / 255.0f;
      }
  const std::vector<std::uint32_t> idx = {1, 0};
  std::vector<float> a(24), b(24);
  ImageSet::from_bytes(chw, 2, 3, 2, PixelOrder::kChw).gather(idx, a);
  ImageSet::from_bytes(hwc, 2, 3, 2, PixelOrder::kHwc).gather(idx, b);
  for (int i = 0; i < 12; ++i) {
    EXPECT_FLOAT_EQ(a[i], expect[12 + i]);
    EXPECT_FLOAT_EQ(b[i], expect[12 + i]);
    EXPECT_FLOAT_EQ(a[12 + i], expect[i]);
  }
  const std::vector<std::uint32_t> bad = {2};
  std::vector<float> one(12);
  EXPECT_THROW(ImageSet::from_bytes(chw, 2, 3, 2, PixelOrder::kChw).gather(bad, one), Error);
  EXPECT_THROW(ImageSet::from_bytes(chw, 3, 3, 2, PixelOrder::kChw), Error);
}

// Keras's Adam on one scalar, two steps, against the formula evaluated by hand in double.
TEST(Adam, MatchesKerasFormula) {
  Param p{"w", {1}, {1.0f}, {0.5f}, true};
  Adam adam({&p});
  adam.step();
  // Step 1: m = 0.05, v = 0.00025, lr_t = 1e-3 * sqrt(0.001) / 0.1.
  const double lr1 = 1e-3 * std::sqrt(1 - 0.999) / (1 - 0.9);
  const double w1 = 1.0 - lr1 * 0.05 / (std::sqrt(0.00025) + 1e-7);
  EXPECT_NEAR(p.value[0], w1, 1e-7);
  p.grad[0] = -0.25f;
  adam.step();
  const double m2 = 0.9 * 0.05 + 0.1 * -0.25, v2 = 0.999 * 0.00025 + 0.001 * 0.0625;
  const double lr2 = 1e-3 * std::sqrt(1 - 0.999 * 0.999) / (1 - 0.81);
  EXPECT_NEAR(p.value[0], w1 - lr2 * m2 / (std::sqrt(v2) + 1e-7), 1e-7);
  EXPECT_EQ(adam.step_count(), 2);
}

}  // namespace
}  // namespace mystyle::nn
