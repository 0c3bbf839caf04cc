#include "mystyle/image/background.h"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"
#include "pixel_checks.h"

namespace mystyle::image {
namespace {

void check_rgb(const cv::Mat& rgb) {
  detail::check_rgb(rgb, "background");
}

constexpr double kMinKeptShare = 0.03, kMaxKeptShare = 0.92;
constexpr double kMaxFrameContact = 0.05;
constexpr std::uint64_t kSegmentSeed = 0x5EED5EED;
// A studio backdrop's pixel: light (every channel at least this) and nearly grey (channels within this).
constexpr int kStudioMinLevel = 200, kStudioMaxChroma = 20;

}  // namespace

namespace {

struct BandStats {
  double edge_share = 0, studio_share = 0;
};

BandStats band_stats(const cv::Mat& rgb, const BackgroundOptions& options, int edge_threshold) {
  check_rgb(rgb);
  BandStats stats;
  if (rgb.rows < 3 || rgb.cols < 3) return stats;
  const int band_y = std::max(1, static_cast<int>(std::lround(rgb.rows * options.band_frac)));
  const int band_x = std::max(1, static_cast<int>(std::lround(rgb.cols * options.band_frac)));
  std::size_t edges = 0, studio = 0, pixels = 0;
  for (int y = 1; y + 1 < rgb.rows; ++y) {
    const std::uint8_t* above = rgb.ptr<std::uint8_t>(y - 1);
    const std::uint8_t* row = rgb.ptr<std::uint8_t>(y);
    const std::uint8_t* below = rgb.ptr<std::uint8_t>(y + 1);
    const bool whole_row = y <= band_y || y >= rgb.rows - 1 - band_y;
    const auto scan = [&](int x0, int x1) {  // columns [x0, x1)
      for (int x = x0; x < x1; ++x) {
        bool edge = false;
        for (std::size_t i = 3 * static_cast<std::size_t>(x); i < 3 * static_cast<std::size_t>(x) + 3; ++i) {
          edge |= detail::contrast(above, row, below, i) > edge_threshold;
        }
        const std::uint8_t* px = row + 3 * x;
        const int hi = std::max({px[0], px[1], px[2]}), lo = std::min({px[0], px[1], px[2]});
        edges += edge;
        studio += lo >= kStudioMinLevel && hi - lo <= kStudioMaxChroma;
        ++pixels;
      }
    };
    if (whole_row) {
      scan(1, rgb.cols - 1);
    } else {
      scan(1, std::min(band_x + 1, rgb.cols - 1));
      scan(std::max(rgb.cols - 1 - band_x, band_x + 1), rgb.cols - 1);
    }
  }
  if (pixels > 0) {
    stats.edge_share = static_cast<double>(edges) / static_cast<double>(pixels);
    stats.studio_share = static_cast<double>(studio) / static_cast<double>(pixels);
  }
  return stats;
}

}  // namespace

double band_edge_share(const cv::Mat& rgb, const BackgroundOptions& options, int edge_threshold) {
  return band_stats(rgb, options, edge_threshold).edge_share;
}

BackgroundResult paint_out_background(const cv::Mat& rgb, const BackgroundOptions& options, int edge_threshold) {
  BackgroundResult result;
  result.rgb = rgb;
  const BandStats band = band_stats(rgb, options, edge_threshold);
  result.edge_share = band.edge_share;
  result.studio_share = band.studio_share;
  // Busy: edges all along the band, and little of it a light studio backdrop (a close-up of a
  // patterned garment on a studio backdrop has edges in the band, but backdrop beside them).
  result.busy = band.edge_share > options.busy_edge_share && band.studio_share < options.max_studio_share;
  if (!result.busy) return result;

  // GrabCut on a small copy, every pixel but a thin frame "probably foreground" to start.
  const double scale = std::min(1.0, static_cast<double>(options.segment_side_px) / std::max(rgb.cols, rgb.rows));
  cv::Mat small;
  cv::resize(rgb, small, cv::Size(std::max(8, static_cast<int>(std::lround(rgb.cols * scale))),
                                  std::max(8, static_cast<int>(std::lround(rgb.rows * scale)))),
             0, 0, cv::INTER_AREA);
  cv::Mat bgr;
  cv::cvtColor(small, bgr, cv::COLOR_RGB2BGR);
  const int mx = std::max(1, small.cols / 40), my = std::max(1, small.rows / 40);
  const cv::Rect inner(mx, my, small.cols - 2 * mx, small.rows - 2 * my);
  cv::Mat mask(small.size(), CV_8UC1, cv::Scalar(cv::GC_BGD)), bgd_model, fgd_model;
  // GrabCut seeds its colour models with k-means from OpenCV's per-thread generator: a fixed seed
  // (the caller's state restored after) makes the same photo give the same pixels every time.
  cv::RNG& rng = cv::theRNG();
  const std::uint64_t saved_state = rng.state;
  rng.state = kSegmentSeed;
  try {
    cv::grabCut(bgr, mask, inner, bgd_model, fgd_model, options.segment_iterations, cv::GC_INIT_WITH_RECT);
  } catch (const cv::Exception&) {
    rng.state = saved_state;
    return result;  // e.g. a frame of one colour: nothing to learn a background from
  }
  rng.state = saved_state;
  cv::Mat object = (mask == cv::GC_FGD) | (mask == cv::GC_PR_FGD);
  // The largest connected piece is the garment; specks of floor that looked like it are dropped.
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(object, labels, stats, centroids, 8, CV_32S);
  int best = 0, best_area = 0;
  for (int i = 1; i < n; ++i) {
    if (stats.at<int>(i, cv::CC_STAT_AREA) > best_area) {
      best_area = stats.at<int>(i, cv::CC_STAT_AREA);
      best = i;
    }
  }
  const double kept = static_cast<double>(best_area) / static_cast<double>(small.total());
  if (best == 0 || kept < kMinKeptShare || kept > kMaxKeptShare) return result;
  cv::Mat alpha = labels == best;  // 255 on the garment
  // A garment that runs out of the frame along much of it (a close-up whose own texture made the
  // band busy) is not on a background: leave the photo as it is.
  const cv::Mat ring = alpha(inner);
  const double touching =
      (cv::countNonZero(ring.row(0)) + cv::countNonZero(ring.row(ring.rows - 1)) + cv::countNonZero(ring.col(0)) +
       cv::countNonZero(ring.col(ring.cols - 1))) /
      static_cast<double>(2 * (ring.rows + ring.cols));
  result.frame_contact = touching;
  if (touching > kMaxFrameContact) return result;
  // Holes inside the garment (a dark print GrabCut gave to the floor) are filled: close, then the
  // inverse's pieces that do not touch the frame.
  cv::morphologyEx(alpha, alpha, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5)));
  cv::Mat outside;
  cv::copyMakeBorder(alpha, outside, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::floodFill(outside, cv::Point(0, 0), cv::Scalar(255));  // everything reachable from the frame
  alpha |= ~outside(cv::Rect(1, 1, alpha.cols, alpha.rows));  // what it could not reach: holes
  cv::Mat soft;
  alpha.convertTo(soft, CV_32F, 1.0 / 255.0);
  cv::resize(soft, soft, rgb.size(), 0, 0, cv::INTER_LINEAR);
  cv::Mat painted(rgb.size(), CV_8UC3);
  for (int y = 0; y < rgb.rows; ++y) {
    const std::uint8_t* in = rgb.ptr<std::uint8_t>(y);
    const float* a = soft.ptr<float>(y);
    std::uint8_t* out = painted.ptr<std::uint8_t>(y);
    for (int x = 0; x < rgb.cols; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float v = a[x] * in[3 * x + c] + (1.0f - a[x]) * options.fill[c];
        out[3 * x + c] = static_cast<std::uint8_t>(std::lround(v));
      }
    }
  }
  result.rgb = painted;
  result.painted = true;
  return result;
}

}  // namespace mystyle::image
