#include "mystyle/image/crop.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "mystyle/core/error.h"
#include "pixel_checks.h"

namespace mystyle::image {
namespace {

void check_rgb(const cv::Mat& rgb) {
  detail::check_rgb(rgb, "crop");
}

void check_options(const CropOptions& options) {
  if (options.edge_threshold < 0 || options.edge_threshold > 255) {
    throw Error("crop: edge_threshold must be in 0..255", ErrorKind::kInvalidInput);
  }
  if (options.min_line_pixels < 1)
    throw Error("crop: min_line_pixels must be >= 1", ErrorKind::kInvalidInput);
  if (!(options.margin_frac >= 0.0 && options.margin_frac <= 1.0)) {
    throw Error("crop: margin_frac must be in [0, 1]", ErrorKind::kInvalidInput);
  }
}

// Square of side max(w, h) * (1 + 2 * margin_frac) centred on the object box.
CropBox square_around(const CropBox& object, double margin_frac) {
  const int longer = std::max(object.width, object.height);
  const int margin = static_cast<int>(margin_frac * longer + 0.5);
  const int side = longer + 2 * margin;
  return {object.x - (side - object.width) / 2, object.y - (side - object.height) / 2, side, side};
}

// The pixels of `box`, with the parts outside the image filled with `fill`. The padded copy is made
// at full size only while it stays within kMaxPaddedFactor times the image's pixels (or
// kReducedSidePx squared): the object square of a long, thin image (36,000 x 29 pixels, well within
// the decoder's pixel limit) would otherwise be a 36,000-pixel square, 3.9 GB, for a 357-byte JPEG
// (found by fuzz/image_fuzzer). Past that, the square is built kReducedSidePx a side (no model input
// is larger), the image part shrunk into it with INTER_AREA: every ordinary photo, even a 16:9 one,
// keeps the exact full-size path.
constexpr std::int64_t kMaxPaddedFactor = 4;
constexpr int kReducedSidePx = 4096;

cv::Mat extract_padded(const cv::Mat& rgb, const CropBox& box, const cv::Vec3b& fill) {
  const cv::Rect wanted(box.x, box.y, box.width, box.height);
  const cv::Rect inside = wanted & cv::Rect(0, 0, rgb.cols, rgb.rows);
  if (inside == wanted) return rgb(wanted);
  const cv::Scalar background(fill[0], fill[1], fill[2]);
  const std::int64_t padded_pixels = std::int64_t{box.width} * box.height;
  const std::int64_t image_pixels = std::int64_t{rgb.cols} * rgb.rows;
  if (padded_pixels <= std::max(kMaxPaddedFactor * image_pixels, std::int64_t{kReducedSidePx} * kReducedSidePx)) {
    cv::Mat padded(box.height, box.width, CV_8UC3, background);
    if (!inside.empty()) rgb(inside).copyTo(padded(inside - wanted.tl()));
    return padded;
  }
  const double fx = static_cast<double>(kReducedSidePx) / box.width;
  const double fy = static_cast<double>(kReducedSidePx) / box.height;
  cv::Mat reduced(kReducedSidePx, kReducedSidePx, CV_8UC3, background);
  if (!inside.empty()) {
    const int x0 = std::clamp(static_cast<int>((inside.x - wanted.x) * fx), 0, kReducedSidePx - 1);
    const int y0 = std::clamp(static_cast<int>((inside.y - wanted.y) * fy), 0, kReducedSidePx - 1);
    const int w = std::clamp(static_cast<int>(inside.width * fx + 0.5), 1, kReducedSidePx - x0);
    const int h = std::clamp(static_cast<int>(inside.height * fy + 0.5), 1, kReducedSidePx - y0);
    cv::Mat part;
    cv::resize(rgb(inside), part, cv::Size(w, h), 0.0, 0.0, cv::INTER_AREA);
    part.copyTo(reduced(cv::Rect(x0, y0, w, h)));
  }
  return reduced;
}

}  // namespace

cv::Vec3b estimate_background(const cv::Mat& rgb) {
  check_rgb(rgb);
  std::array<std::array<int, 256>, 3> histogram{};
  int count = 0;
  auto add = [&](int y, int x) {
    const auto& p = rgb.at<cv::Vec3b>(y, x);
    for (int c = 0; c < 3; ++c) ++histogram[c][p[c]];
    ++count;
  };
  for (int x = 0; x < rgb.cols; ++x) {
    add(0, x);
    if (rgb.rows > 1) add(rgb.rows - 1, x);
  }
  for (int y = 1; y + 1 < rgb.rows; ++y) {
    add(y, 0);
    if (rgb.cols > 1) add(y, rgb.cols - 1);
  }
  cv::Vec3b median;
  const int rank = (count + 1) / 2;  // the lower median: the rank-th smallest value, 1-based
  for (int c = 0; c < 3; ++c) {
    int seen = 0, value = 0;
    while ((seen += histogram[c][value]) < rank) ++value;
    median[c] = static_cast<std::uint8_t>(value);
  }
  return median;
}

CropBox find_object_box(const cv::Mat& rgb, const CropOptions& options) {
  check_rgb(rgb);
  check_options(options);
  std::vector<int> per_row(static_cast<std::size_t>(rgb.rows), 0),
      per_col(static_cast<std::size_t>(rgb.cols), 0);
  // Per byte (channel) first, in contiguous runs the compiler vectorises, then per pixel.
  const std::size_t row_bytes = 3 * static_cast<std::size_t>(rgb.cols);
  // 1 where that channel's contrast exceeds the threshold; then per pixel, any channel.
  std::vector<std::uint8_t> over(row_bytes, 0), edge(static_cast<std::size_t>(rgb.cols), 0);
  const auto threshold = static_cast<std::uint8_t>(options.edge_threshold);
  for (int y = 1; y + 1 < rgb.rows; ++y) {
    const std::uint8_t* above = rgb.ptr<std::uint8_t>(y - 1);
    const std::uint8_t* row = rgb.ptr<std::uint8_t>(y);
    const std::uint8_t* below = rgb.ptr<std::uint8_t>(y + 1);
    for (std::size_t i = 3; i + 3 < row_bytes; ++i) {
      over[i] = detail::contrast(above, row, below, i) > threshold;
    }
    const std::size_t inner = static_cast<std::size_t>(rgb.cols) - 1;
    for (std::size_t x = 1; x < inner; ++x) {
      edge[x] = static_cast<std::uint8_t>(over[3 * x] | over[3 * x + 1] | over[3 * x + 2]);
    }
    int in_row = 0;
    for (std::size_t x = 1; x < inner; ++x) {
      in_row += edge[x];
      per_col[x] += edge[x];
    }
    per_row[static_cast<std::size_t>(y)] = in_row;
  }
  auto dense = [&](int n) { return n >= options.min_line_pixels; };
  const auto top = std::find_if(per_row.begin(), per_row.end(), dense);
  const auto left = std::find_if(per_col.begin(), per_col.end(), dense);
  if (top == per_row.end() || left == per_col.end()) return {0, 0, rgb.cols, rgb.rows};
  const auto bottom = std::find_if(per_row.rbegin(), per_row.rend(), dense);
  const auto right = std::find_if(per_col.rbegin(), per_col.rend(), dense);
  int x0 = static_cast<int>(left - per_col.begin());
  int y0 = static_cast<int>(top - per_row.begin());
  int x1 = static_cast<int>(per_col.rend() - right) - 1;  // last column, inclusive
  int y1 = static_cast<int>(per_row.rend() - bottom) - 1;
  // A central difference also flags the background pixel just outside a sharp outline; step back in.
  if (x1 - x0 >= 2) {
    ++x0;
    --x1;
  }
  if (y1 - y0 >= 2) {
    ++y0;
    --y1;
  }
  return {x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

CropResult crop_image(const cv::Mat& rgb, const CropOptions& options) {
  check_rgb(rgb);
  check_options(options);
  switch (options.mode) {
    case CropMode::kObject: {
      const CropBox object = find_object_box(rgb, options);
      const CropBox square = square_around(object, options.margin_frac);
      return {extract_padded(rgb, square, estimate_background(rgb)), object, square};
    }
    case CropMode::kFixedWindow: {
      const CropBox& w = options.fixed_window;
      const cv::Rect window = cv::Rect(w.x, w.y, w.width, w.height) & cv::Rect(0, 0, rgb.cols, rgb.rows);
      if (window.empty()) {
        throw Error("crop: the fixed window x " + std::to_string(w.x) + ", y " + std::to_string(w.y) + ", " +
                        std::to_string(w.width) + "x" + std::to_string(w.height) + " does not overlap a " +
                        std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " image",
                    ErrorKind::kInvalidInput);
      }
      const CropBox box{window.x, window.y, window.width, window.height};
      return {rgb(window), box, box};
    }
    case CropMode::kNone:
      break;
  }
  const CropBox all{0, 0, rgb.cols, rgb.rows};
  return {rgb, all, all};
}

}  // namespace mystyle::image
