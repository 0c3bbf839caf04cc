#include "mystyle/image/augment.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <exception>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

constexpr int kCurveSteps = 1024;

// Uniform in [-r, r] (0 when r is 0, without consuming a different number of draws).
double symmetric(std::mt19937_64& rng, double r) {
  return std::uniform_real_distribution<double>(-1.0, 1.0)(rng) * r;
}

void check_size(std::span<float> chw, int channels, int side_px, const char* what) {
  if (channels < 1 || channels > 4 || side_px < 1 ||
      chw.size() != static_cast<std::size_t>(channels) * static_cast<std::size_t>(side_px) * side_px) {
    throw Error(fmt::format("{}: {} floats for {} channels of {}x{} px", what, chw.size(), channels, side_px,
                            side_px));
  }
}

double uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

constexpr double kPi = 3.14159265358979323846;
constexpr float kBackgroundDistance = 0.07f;  // a fill starts at border pixels this close to the median
constexpr int kFillStep = 2;                   // levels between neighbours the fill crosses
constexpr double kMaxBackgroundShare = 0.85;   // more than this "background" means the garment leaked

}  // namespace

void texture_background(std::span<float> chw, int channels, int side_px, std::uint64_t seed) {
  check_size(chw, channels, side_px, "texture_background");
  const std::size_t plane = static_cast<std::size_t>(side_px) * side_px;
  // The border's median colour is the studio background; pixels close to it are background.
  std::vector<float> border, reference(static_cast<std::size_t>(channels));
  for (int c = 0; c < channels; ++c) {
    border.clear();
    const float* p = chw.data() + static_cast<std::size_t>(c) * plane;
    for (int i = 0; i < side_px; ++i) {
      border.insert(border.end(), {p[i], p[(side_px - 1) * side_px + i], p[i * side_px], p[i * side_px + side_px - 1]});
    }
    std::nth_element(border.begin(), border.begin() + static_cast<std::ptrdiff_t>(border.size() / 2), border.end());
    reference[static_cast<std::size_t>(c)] = border[border.size() / 2];
  }
  // Background = what a flood fill from the border reaches through small steps (the garment's outline
  // stops it), starting from border pixels close to the reference colour.
  cv::Mat rgb(side_px, side_px, CV_8UC3);
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float v = chw[static_cast<std::size_t>(std::min(c, channels - 1)) * plane + i];
      rgb.data[i * 3 + static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255));
    }
  }
  cv::Mat filled = cv::Mat::zeros(side_px + 2, side_px + 2, CV_8U);
  const auto near_reference = [&](int x, int y) {
    for (int c = 0; c < channels; ++c) {
      const float v = chw[static_cast<std::size_t>(c) * plane + static_cast<std::size_t>(y) * side_px + x];
      if (std::abs(v - reference[static_cast<std::size_t>(c)]) > kBackgroundDistance) return false;
    }
    return true;
  };
  for (int i = 0; i < side_px; ++i) {
    for (const cv::Point p : {cv::Point(i, 0), cv::Point(i, side_px - 1), cv::Point(0, i), cv::Point(side_px - 1, i)}) {
      if (filled.at<std::uint8_t>(p.y + 1, p.x + 1) || !near_reference(p.x, p.y)) continue;
      cv::floodFill(rgb, filled, p, cv::Scalar(), nullptr, cv::Scalar::all(kFillStep), cv::Scalar::all(kFillStep),
                    4 | cv::FLOODFILL_MASK_ONLY | (255 << 8));
    }
  }
  cv::Mat mask;
  filled(cv::Rect(1, 1, side_px, side_px)).convertTo(mask, CV_32F, 1.0 / 255);
  // A light garment the fill ran into is left alone rather than painted over.
  if (cv::mean(mask)[0] > kMaxBackgroundShare) return;
  cv::GaussianBlur(mask, mask, cv::Size(3, 3), 0.7);  // a soft edge, as a real cut-out has

  std::mt19937_64 rng(seed ^ 0x7E47u);
  const int kind = static_cast<int>(rng() % 4);
  double base[3];
  switch (kind) {
    case 0: {  // wood
      const double r = uniform(rng, 0.40, 0.72);
      base[0] = r, base[1] = r * uniform(rng, 0.62, 0.75), base[2] = r * uniform(rng, 0.38, 0.5);
      break;
    }
    case 1:  // concrete
      base[0] = base[1] = base[2] = uniform(rng, 0.42, 0.75);
      break;
    default:  // fabric, wall: any colour, mid saturation
      for (double& b : base) b = uniform(rng, 0.25, 0.85);
  }
  const double frequency = uniform(rng, 0.15, 0.45), phase = uniform(rng, 0.0, 2 * kPi);
  const double light = uniform(rng, -0.25, 0.25), period = uniform(rng, 5.0, 12.0);
  const bool vertical = rng() % 2 == 1;
  std::normal_distribution<double> noise(0.0, 1.0);
  cv::Mat grain(side_px, side_px, CV_32F);
  for (int y = 0; y < side_px; ++y) {
    for (int x = 0; x < side_px; ++x) grain.at<float>(y, x) = static_cast<float>(noise(rng));
  }
  if (kind == 1) cv::GaussianBlur(grain, grain, cv::Size(0, 0), 1.0);
  for (int y = 0; y < side_px; ++y) {
    for (int x = 0; x < side_px; ++x) {
      const double u = static_cast<double>(vertical ? x : y), v = static_cast<double>(vertical ? y : x);
      const double n = grain.at<float>(y, x);
      double shade = 1.0;
      switch (kind) {
        case 0:
          shade = 0.88 + 0.1 * std::sin(u * frequency + 0.6 * std::sin(v * 0.08 + phase)) + 0.03 * n;
          break;
        case 1:
          shade = 1.0 + 0.08 * n;
          break;
        case 2:
          shade = 0.85 + 0.1 * (std::fmod(u, period) < period / 2) + 0.08 * (std::fmod(v, period) < period / 2) +
                  0.02 * n;
          break;
        default:
          shade = 1.0 + light * (v / side_px - 0.5) * 2 + 0.015 * n;
      }
      const float m = mask.at<float>(y, x);
      if (m <= 0) continue;
      for (int c = 0; c < channels; ++c) {
        float& px = chw[static_cast<std::size_t>(c) * plane + static_cast<std::size_t>(y) * side_px + x];
        const double t = std::clamp(base[std::min(c, 2)] * shade, 0.0, 1.0);
        px = static_cast<float>(m * t + (1 - m) * px);
      }
    }
  }
}

void augment_image(std::span<float> chw, int channels, int side_px, const AugmentSettings& s,
                   std::uint64_t seed) {
  check_size(chw, channels, side_px, "augment_image");
  if (s.texture_chance > 0) {
    std::mt19937_64 coin(seed ^ 0xBAC6u);
    if (uniform(coin, 0.0, 1.0) < s.texture_chance) texture_background(chw, channels, side_px, coin());
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

void augment_batch(std::span<float> batch, int n, int channels, int side_px, const AugmentSettings& settings,
                   std::uint64_t seed, int threads, bool mirror) {
  if (n < 0 || channels < 1 || side_px < 1 ||
      batch.size() != static_cast<std::size_t>(n) * static_cast<std::size_t>(channels) * side_px * side_px) {
    throw Error("augment_batch: a batch of " + std::to_string(batch.size()) + " floats is not " + std::to_string(n) +
                    " images of " + std::to_string(channels) + "x" + std::to_string(side_px) + "x" +
                    std::to_string(side_px),
                ErrorKind::kInvalidInput);
  }
  const std::size_t floats = static_cast<std::size_t>(channels) * side_px * side_px;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto edit_every = [&](int first, int step) {
    try {
      for (int i = first; i < n; i += step) {
        const std::uint64_t s = seed + 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
        const std::span<float> img = batch.subspan(static_cast<std::size_t>(i) * floats, floats);
        if (mirror && ((s >> 61) & 1)) {
          for (int row = 0; row < channels * side_px; ++row) {
            std::reverse(img.begin() + row * side_px, img.begin() + (row + 1) * side_px);
          }
        }
        augment_image(img, channels, side_px, settings, s);
      }
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  const int workers = std::clamp(threads, 1, std::max(n, 1));
  {
    std::vector<std::jthread> pool;
    for (int w = 1; w < workers; ++w) pool.emplace_back(edit_every, w, workers);
    edit_every(0, workers);
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace mystyle::image
