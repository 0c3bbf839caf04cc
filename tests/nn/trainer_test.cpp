#include "mystyle/nn/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "mystyle/core/error.h"
#include "mystyle/nn/model_file.h"
#include "support/test_support.h"

namespace mystyle::nn {
namespace {

// Smooth synthetic "garments": a soft blob of a random colour on a light background.
std::vector<float> synthetic_images(int count, int side, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(static_cast<std::size_t>(count) * 3 * side * side);
  for (int n = 0; n < count; ++n) {
    const float cx = rng.uniform(0.3f, 0.7f) * side, cy = rng.uniform(0.3f, 0.7f) * side;
    const float r = rng.uniform(0.15f, 0.35f) * side;
    float colour[3];
    for (auto& c : colour) c = rng.uniform(0.1f, 0.9f);
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < side; ++y)
        for (int xx = 0; xx < side; ++xx) {
          const float d2 = ((xx - cx) * (xx - cx) + (y - cy) * (y - cy)) / (r * r);
          const float w = std::exp(-d2 * d2);
          x[((static_cast<std::size_t>(n) * 3 + c) * side + y) * side + xx] = w * colour[c] + (1 - w) * 0.92f;
        }
  }
  return x;
}

std::vector<std::uint32_t> iota(int n, int from = 0) {
  std::vector<std::uint32_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), static_cast<std::uint32_t>(from));
  return v;
}

TEST(Trainer, LossGoesDownOnSmallImageSet) {
  const auto pixels = synthetic_images(48, 64, 1);
  const ImageSet images = ImageSet::from_floats(pixels, 48, 3, 64);
  Model model(builtin_model_spec("seed64"), 1);
  TrainerSettings settings;
  settings.batch_size = 16;
  settings.adam.learning_rate = 3e-3f;
  Trainer trainer(model, settings);
  const auto train = iota(40), val = iota(8, 40);
  const double val_before = trainer.evaluate(images, val);
  double first = 0, last = 0;
  for (int e = 0; e < 6; ++e) {
    const EpochStats s = trainer.train_epoch(images, train);
    EXPECT_EQ(s.epoch, e + 1);
    EXPECT_EQ(s.images, 40);
    (e == 0 ? first : last) = s.train_loss;
  }
  EXPECT_LT(last, first * 0.97) << "first epoch " << first << ", last " << last;
  EXPECT_LT(trainer.evaluate(images, val), val_before);
  EXPECT_EQ(trainer.step(), 6 * 3);
}

// An interrupted run resumed from its checkpoint ends bit-identical to an uninterrupted one, with
// or without edited (denoising) inputs, whose seeds come from the checkpointed RNG.
void expect_resume_bit_identical(const TrainerSettings& settings) {
  mystyle::testing::TempDir dir;
  const ModelSpec spec = parse_model_spec(
      "model tiny\ninput 3 16\nconv 8 relu\nbatchnorm\nmaxpool\nlatent\n"
      "conv 8 relu\nupsample\nconv 3 sigmoid\n");
  const auto pixels = synthetic_images(40, 16, 2);
  const ImageSet images = ImageSet::from_floats(pixels, 40, 3, 16);
  const auto train = iota(40);

  Model straight(spec, 5);
  Trainer a(straight, settings);
  for (int e = 0; e < 3; ++e) a.train_epoch(images, train);

  {
    Model first(spec, 5);
    Trainer b(first, settings);
    b.train_epoch(images, train);
    b.save_checkpoint(dir / "ckpt.msm");
  }                                        // the "interrupted" process ends here
  Model resumed(spec, /*init_seed=*/999);  // different init: everything must come from the file
  Trainer c(resumed, settings);
  c.load_checkpoint(dir / "ckpt.msm");
  EXPECT_EQ(c.epoch(), 1);
  for (int e = 0; e < 2; ++e) c.train_epoch(images, train);

  EXPECT_EQ(c.epoch(), a.epoch());
  EXPECT_EQ(c.step(), a.step());
  const auto pa = straight.params(), pc = resumed.params();
  ASSERT_EQ(pa.size(), pc.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    ASSERT_EQ(pa[i]->value.size(), pc[i]->value.size());
    EXPECT_EQ(std::memcmp(pa[i]->value.data(), pc[i]->value.data(), pa[i]->value.size() * sizeof(float)), 0)
        << "tensor " << i << " (" << pa[i]->name << ") differs";
  }
}

TrainerSettings resume_settings() {
  TrainerSettings settings;
  settings.batch_size = 12;  // a partial last batch too
  settings.shuffle_seed = 77;
  return settings;
}

TEST(Trainer, ResumeIsBitIdentical) {
  expect_resume_bit_identical(resume_settings());
}

TEST(Trainer, ResumeIsBitIdenticalWithEditedInputs) {
  TrainerSettings settings = resume_settings();
  settings.corrupt_inputs = [](std::span<float> inputs, int, std::uint64_t seed) {
    Rng noise(seed);
    for (float& v : inputs) v = std::clamp(v + noise.uniform(-0.1f, 0.1f), 0.0f, 1.0f);
  };
  expect_resume_bit_identical(settings);
}

// With corrupt_inputs the network sees the edited batch and is scored against the clean one.
TEST(Trainer, EditedInputsAreScoredAgainstCleanTargets) {
  const ModelSpec spec = parse_model_spec(
      "model plain\ninput 3 16\nconv 8 relu\nmaxpool\nlatent\nconv 8 relu\nupsample\nconv 3 sigmoid\n");
  const int n = 6;
  const auto pixels = synthetic_images(n, 16, 3);
  const ImageSet images = ImageSet::from_floats(pixels, n, 3, 16);
  std::vector<std::uint64_t> seeds;
  TrainerSettings settings;
  settings.batch_size = n;
  settings.corrupt_inputs = [&](std::span<float> inputs, int count, std::uint64_t seed) {
    EXPECT_EQ(count, n);
    EXPECT_EQ(inputs.size(), pixels.size());
    std::fill(inputs.begin(), inputs.end(), 0.0f);  // the network sees black images
    seeds.push_back(seed);
  };
  Model trained(spec, 4), reference(spec, 4);
  Trainer trainer(trained, settings);
  const double loss = trainer.train_batch(images, iota(n));
  const std::vector<float> black(pixels.size(), 0.0f);
  const double expected = reference.evaluate_loss(black, pixels, n, LossKind::kBinaryCrossEntropy);
  EXPECT_NEAR(loss, expected, 1e-6 * expected);
  // The clean input scores differently (an untrained net barely depends on its input, hence the
  // small margin, still 100x the tolerance above), so the check above can tell them apart.
  EXPECT_GT(std::abs(reference.evaluate_loss(pixels, pixels, n, LossKind::kBinaryCrossEntropy) - expected),
            100e-6 * expected);
  trainer.train_batch(images, iota(n));
  ASSERT_EQ(seeds.size(), 2u);
  EXPECT_NE(seeds[0], seeds[1]);
}

TEST(Trainer, ModelFileIsNotACheckpoint) {
  mystyle::testing::TempDir dir;
  Model model(builtin_model_spec("seed64"), 1);
  save_model(dir / "m.msm", model);
  Trainer t(model, {});
  EXPECT_THROW(t.load_checkpoint(dir / "m.msm"), Error);
}

TEST(Trainer, RejectsImagesOfTheWrongSize) {
  Model model(builtin_model_spec("seed64"), 1);
  Trainer t(model, {});
  std::vector<float> px(3 * 32 * 32);
  const auto idx = iota(1);
  EXPECT_THROW(t.train_batch(ImageSet::from_floats(px, 1, 3, 32), idx), Error);
}

}  // namespace
}  // namespace mystyle::nn
