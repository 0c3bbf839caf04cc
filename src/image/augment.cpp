#include "mystyle/image/augment.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

constexpr int kCurveSteps = 1024;

// Uniform in [-r, r] (0 when r is 0, without consuming a different number of draws).
double symmetric(std::mt19937_64& rng, double r) {
  return std::uniform_real_distribution<double>(-1.0, 1.0)(rng) * r;
}

}  // namespace

void augment_image(std::span<float> chw, int channels, int side_px, const AugmentSettings& s,
                   std::uint64_t seed) {
  if (channels < 1 || channels > 4 || side_px < 1 ||
      chw.size() != static_cast<std::size_t>(channels) * static_cast<std::size_t>(side_px) * side_px) {
    throw Error(fmt::format("augment_image: {} floats for {} channels of {}x{} px", chw.size(), channels,
                            side_px, side_px));
  }
  std::mt19937_64 rng(seed);
  // Draw every parameter up front, in a fixed order, so each edit's randomness is stable.
  const double angle = symmetric(rng, s.rotate_deg);
  const double zoom = 1.0 + symmetric(rng, s.scale);
  const double dx = symmetric(rng, s.shift) * side_px, dy = symmetric(rng, s.shift) * side_px;
  const double gain = 1.0 + symmetric(rng, s.exposure);
  const double tone = std::exp(symmetric(rng, s.gamma));
  double tint[4];
  for (double& t : tint) t = 1.0 + symmetric(rng, s.tint);
  const bool blur = std::uniform_real_distribution<double>(0.0, 1.0)(rng) < s.blur_chance;
  const double sigma =
      0.3 + std::uniform_real_distribution<double>(0.0, 1.0)(rng) * std::max(0.0, s.blur_sigma - 0.3);

  const bool geometric = angle != 0.0 || zoom != 1.0 || dx != 0.0 || dy != 0.0;
  const std::size_t plane_size = static_cast<std::size_t>(side_px) * side_px;
  const cv::Point2f centre(0.5f * static_cast<float>(side_px - 1), 0.5f * static_cast<float>(side_px - 1));
  cv::Mat affine = cv::getRotationMatrix2D(centre, angle, zoom);
  affine.at<double>(0, 2) += dx;
  affine.at<double>(1, 2) += dy;
  cv::Mat moved(side_px, side_px, CV_32F);
  // The tone curve v^tone as a table, linearly interpolated (within 1e-3 of pow, far cheaper).
  std::array<float, kCurveSteps + 1> curve;
  for (int i = 0; i <= kCurveSteps; ++i)
    curve[i] = static_cast<float>(std::pow(i / double{kCurveSteps}, tone));
  for (int c = 0; c < channels; ++c) {
    cv::Mat plane(side_px, side_px, CV_32F, chw.data() + static_cast<std::size_t>(c) * plane_size);
    if (geometric) {
      cv::warpAffine(plane, moved, affine, plane.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
      moved.copyTo(plane);
    }
    if (blur) cv::GaussianBlur(plane, plane, cv::Size(0, 0), sigma, sigma, cv::BORDER_REPLICATE);
    const float g = static_cast<float>(gain * tint[c]);
    for (float& v : std::span<float>(reinterpret_cast<float*>(plane.data), plane_size)) {
      const float x = std::clamp(v, 0.0f, 1.0f) * kCurveSteps;
      const int i = std::min(static_cast<int>(x), kCurveSteps - 1);
      const float curved = curve[i] + (x - static_cast<float>(i)) * (curve[i + 1] - curve[i]);
      v = std::clamp(curved * g, 0.0f, 1.0f);
    }
  }
}

}  // namespace mystyle::image
