#include "mystyle/image/colour_naming.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <vector>
#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

/// The centre weight of every pixel of a rows x cols image (see the header), computed once per size
/// and thread: the per-pixel exp and hypot were a third of a query's colour reading.
const std::vector<double>& centre_weights(int rows, int cols) {
  thread_local int cached_rows = -1, cached_cols = -1;
  thread_local std::vector<double> weights;
  if (rows != cached_rows || cols != cached_cols) {
    weights.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
    const double cx = (cols - 1) / 2.0, cy = (rows - 1) / 2.0, half = std::max(1.0, std::min(cx, cy));
    for (int y = 0; y < rows; ++y) {
      for (int x = 0; x < cols; ++x) {
        const double r = std::hypot(x - cx, y - cy) / half;
        weights[static_cast<std::size_t>(y) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(x)] =
            std::exp(-1.5 * r * r);
      }
    }
    cached_rows = rows;
    cached_cols = cols;
  }
  return weights;
}

// A Lab channel value's place among the soft histogram's bins: the lower of the two bins it is shared
// between and the upper one's share. Per value, once: the per-pixel division and clamp were most of
// the read-out's time on every query.
struct BinCoord {
  int first = 0;
  double share = 0;
};

BinCoord bin_coord(double v, double lo, double hi) {
  constexpr int B = kColourNamingBins;
  const double f = std::clamp((v - lo) / (hi - lo) * B - 0.5, 0.0, B - 1.0);
  const int first = std::min(static_cast<int>(f), B - 2);
  return {first, f - first};
}

struct BinTables {
  std::array<BinCoord, 256> l, ab;  // L over [0, 256), a and b over [64, 192)
  BinTables() {
    for (int v = 0; v < 256; ++v) {
      l[static_cast<std::size_t>(v)] = bin_coord(v, 0, 256);
      ab[static_cast<std::size_t>(v)] = bin_coord(v, 64, 192);
    }
  }
};

}  // namespace

std::vector<float> colour_naming_features(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error("colour naming: expected a non-empty 8-bit RGB image", ErrorKind::kInvalidInput);
  }
  const int rows = rgb.rows, cols = rgb.cols;
  // The backdrop: the median of each channel over a border 3 pixels wide.
  std::array<std::vector<std::uint8_t>, 3> border;
  const int band = std::max(1, std::min({3, rows / 2, cols / 2}));
  for (int y = 0; y < rows; ++y) {
    const auto* row = rgb.ptr<cv::Vec3b>(y);
    const bool edge_row = y < band || y >= rows - band;
    for (int x = 0; x < cols; ++x) {
      if (!edge_row && x >= band && x < cols - band) continue;
      for (int c = 0; c < 3; ++c) border[c].push_back(row[x][c]);
    }
  }
  std::array<int, 3> backdrop{};
  for (int c = 0; c < 3; ++c) {
    auto& v = border[c];
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    backdrop[c] = v[v.size() / 2];
  }
  cv::Mat lab;
  cv::cvtColor(rgb, lab, cv::COLOR_RGB2Lab);
  constexpr int B = kColourNamingBins;
  std::vector<float> f(kColourNamingDim, 0.0f);
  double total = 0, frame = 0;
  const std::vector<double>& centre = centre_weights(rows, cols);
  static const BinTables bins;
  for (int y = 0; y < rows; ++y) {
    const auto* row = rgb.ptr<cv::Vec3b>(y);
    const auto* lrow = lab.ptr<cv::Vec3b>(y);
    for (int x = 0; x < cols; ++x) {
      const double w = centre[static_cast<std::size_t>(y) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(x)];
      frame += w;
      int d = 0;
      for (int c = 0; c < 3; ++c) d = std::max(d, std::abs(int{row[x][c]} - backdrop[c]));
      if (d <= kColourNamingMask) continue;
      // Bin coordinates, centres at k + 0.5, clamped to the outer centres.
      const BinCoord& cl = bins.l[lrow[x][0]];
      const BinCoord& ca = bins.ab[lrow[x][1]];
      const BinCoord& cb = bins.ab[lrow[x][2]];
      const int l0 = cl.first, a0 = ca.first, b0 = cb.first;
      const double tl = cl.share, ta = ca.share, tb = cb.share;
      for (int i = 0; i < 2; ++i) {
        for (int j = 0; j < 2; ++j) {
          for (int k = 0; k < 2; ++k) {
            const double share = w * (i ? tl : 1 - tl) * (j ? ta : 1 - ta) * (k ? tb : 1 - tb);
            f[static_cast<std::size_t>(((l0 + i) * B + (a0 + j)) * B + (b0 + k))] += static_cast<float>(share);
          }
        }
      }
      total += w;
    }
  }
  if (total > 0) {
    for (int i = 0; i < B * B * B; ++i) f[static_cast<std::size_t>(i)] = static_cast<float>(std::sqrt(f[static_cast<std::size_t>(i)] / total));
  }
  // The object's share of the frame, by weight (0 when nothing stands out from the backdrop).
  f.back() = static_cast<float>(total / frame);
  return f;
}

}  // namespace mystyle::image
