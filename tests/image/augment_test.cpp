#include "mystyle/image/augment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

constexpr int kSide = 48;

// A soft disc of a mid colour on a light background, planar RGB.
std::vector<float> disc_image(float cx, float cy, float radius) {
  std::vector<float> img(3 * kSide * kSide);
  const float colour[3] = {0.6f, 0.3f, 0.2f};
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        const float d = std::hypot(x - cx, y - cy);
        const float w = std::clamp(radius + 0.5f - d, 0.0f, 1.0f);
        img[(c * kSide + y) * kSide + x] = w * colour[c] + (1 - w) * 0.9f;
      }
  return img;
}

AugmentSettings nothing() {
  AugmentSettings s;
  s.rotate_deg = s.scale = s.shift = s.exposure = s.gamma = s.tint = s.blur_chance = 0.0;
  return s;
}

// Centroid of "garment" pixels (darker than the background) in one plane.
std::pair<double, double> centroid(const std::vector<float>& img) {
  double sx = 0, sy = 0, w = 0;
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x) {
      const double m = std::max(0.0, 0.9 - img[y * kSide + x]);
      sx += m * x, sy += m * y, w += m;
    }
  return {sx / w, sy / w};
}

TEST(Augment, NoEditsIsTheIdentity) {
  const auto img = disc_image(20, 25, 9);
  auto out = img;
  augment_image(out, 3, kSide, nothing(), 7);
  EXPECT_EQ(out, img);
}

TEST(Augment, SameSeedSameResultAndValuesStayInRange) {
  const auto img = disc_image(24, 24, 10);
  auto a = img, b = img, c = img;
  augment_image(a, 3, kSide, {}, 11);
  augment_image(b, 3, kSide, {}, 11);
  augment_image(c, 3, kSide, {}, 12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (float v : a) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
}

// Exposure alone multiplies every pixel by one gain in [0.75, 1.25], then clips at 1.
TEST(Augment, ExposureIsOneGainForAllPixels) {
  AugmentSettings s = nothing();
  s.exposure = 0.25;
  const auto img = disc_image(24, 24, 10);
  const std::size_t centre = 24 * kSide + 24;  // red channel at the disc's centre: 0.6, never clipped
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    auto out = img;
    augment_image(out, 3, kSide, s, seed);
    const double gain = out[centre] / img[centre];
    ASSERT_GE(gain, 0.75 - 1e-6);
    ASSERT_LE(gain, 1.25 + 1e-6);
    for (std::size_t i = 0; i < img.size(); ++i) EXPECT_NEAR(out[i], std::min(1.0, img[i] * gain), 1e-5);
  }
}

// The geometric edit moves the garment by at most the shift range (plus the zoom's effect on an
// off-centre disc) and never changes a uniform image.
TEST(Augment, GeometryMovesTheGarmentWithinRange) {
  AugmentSettings s = nothing();
  s.rotate_deg = 10, s.scale = 0.08, s.shift = 0.05;
  const auto img = disc_image(24, 24, 10);
  const auto [x0, y0] = centroid(img);
  bool moved = false;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    auto out = img;
    augment_image(out, 3, kSide, s, seed);
    const auto [x1, y1] = centroid(out);
    EXPECT_LE(std::abs(x1 - x0), 0.05 * kSide + 0.6) << "seed " << seed;
    EXPECT_LE(std::abs(y1 - y0), 0.05 * kSide + 0.6) << "seed " << seed;
    moved = moved || std::abs(x1 - x0) > 0.3 || std::abs(y1 - y0) > 0.3;
  }
  EXPECT_TRUE(moved);
  std::vector<float> flat(3 * kSide * kSide, 0.9f);
  augment_image(flat, 3, kSide, s, 3);
  for (float v : flat) EXPECT_NEAR(v, 0.9f, 1e-5);
}

// The texture repaints the background and never the garment: pixels of the disc's flat middle keep
// their value exactly, most background pixels change, and the same seed gives the same picture.
TEST(Augment, TextureBackgroundRepaintsOnlyTheBackground) {
  const auto original = disc_image(24, 24, 12);
  std::vector<int> kinds_seen;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    auto img = original;
    texture_background(img, 3, kSide, seed);
    auto again = original;
    texture_background(again, 3, kSide, seed);
    EXPECT_EQ(img, again);
    int background_changed = 0, background = 0;
    for (int y = 0; y < kSide; ++y) {
      for (int x = 0; x < kSide; ++x) {
        const float d = std::hypot(x - 24.0f, y - 24.0f);
        for (int c = 0; c < 3; ++c) {
          const std::size_t i = (static_cast<std::size_t>(c) * kSide + y) * kSide + x;
          if (d < 9) {
            EXPECT_EQ(img[i], original[i]) << "garment pixel " << x << "," << y;
          }
          if (d > 16 && c == 0) {
            ++background;
            background_changed += std::abs(img[i] - original[i]) > 1e-3f;
          }
          EXPECT_GE(img[i], 0.0f);
          EXPECT_LE(img[i], 1.0f);
        }
      }
    }
    EXPECT_GT(background_changed, background * 8 / 10) << "seed " << seed;
  }
}

// texture_chance 0 draws nothing from the texture stream: the other edits are exactly as before.
TEST(Augment, TextureChanceZeroLeavesOtherEditsUnchanged) {
  AugmentSettings s;
  auto a = disc_image(24, 24, 12), b = a;
  augment_image(a, 3, kSide, s, 5);
  s.texture_chance = 1.0;
  augment_image(b, 3, kSide, s, 5);
  EXPECT_NE(a, b);
  s.texture_chance = 0.0;
  auto c = disc_image(24, 24, 12);
  augment_image(c, 3, kSide, s, 5);
  EXPECT_EQ(a, c);
}

// The batch form edits image i exactly as augment_image does with its own seed (after an optional
// mirror), whatever the number of threads; a wrong batch size is refused.
TEST(Augment, BatchMatchesOneImageAtATimeForAnyThreadCount) {
  constexpr int kImages = 7;
  constexpr std::uint64_t kSeed = 99;
  std::vector<float> batch;
  for (int i = 0; i < kImages; ++i) {
    const auto img = disc_image(14.0f + 3.0f * static_cast<float>(i), 22, 8);
    batch.insert(batch.end(), img.begin(), img.end());
  }
  const std::size_t floats = 3 * kSide * kSide;
  std::vector<float> expected = batch;
  int mirrored = 0;
  for (int i = 0; i < kImages; ++i) {
    const std::uint64_t s = kSeed + 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
    std::span<float> img(expected.data() + i * floats, floats);
    if ((s >> 61) & 1) {
      ++mirrored;
      for (int row = 0; row < 3 * kSide; ++row) std::reverse(img.begin() + row * kSide, img.begin() + (row + 1) * kSide);
    }
    augment_image(img, 3, kSide, {}, s);
  }
  ASSERT_GT(mirrored, 0);
  ASSERT_LT(mirrored, kImages);
  for (int threads : {1, 2, 3, 16}) {
    auto got = batch;
    augment_batch(got, kImages, 3, kSide, {}, kSeed, threads, /*mirror=*/true);
    EXPECT_EQ(got, expected) << threads << " threads";
  }
  auto plain = batch;
  augment_batch(plain, kImages, 3, kSide, nothing(), kSeed, 2, /*mirror=*/false);
  EXPECT_EQ(plain, batch);
  EXPECT_THROW(augment_batch(std::span<float>(plain).first(plain.size() - 1), kImages, 3, kSide, {}, kSeed, 2, true),
               Error);
}

TEST(Augment, WrongSizeIsAnError) {
  std::vector<float> img(3 * kSide * kSide - 1);
  EXPECT_THROW(augment_image(img, 3, kSide, {}, 1), Error);
  std::vector<float> five(5 * 4 * 4);
  EXPECT_THROW(augment_image(five, 5, 4, {}, 1), Error);
}

}  // namespace
}  // namespace mystyle::image
