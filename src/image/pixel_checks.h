#pragma once
// Private helpers shared by the image pipeline's sources (crop.cpp, background.cpp).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <string>

#include "mystyle/core/error.h"

namespace mystyle::image::detail {

/// Throws mystyle::Error (kInvalidInput), naming `who`, unless `rgb` is a non-empty CV_8UC3 image.
inline void check_rgb(const cv::Mat& rgb, const char* who) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error(std::string(who) + ": expected a non-empty 8-bit RGB image (CV_8UC3), got " +
                    std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " of type " +
                    std::to_string(rgb.type()),
                ErrorKind::kInvalidInput);
  }
}

/// The contrast of byte `i` of `row` (one channel of one pixel; pixels are 3 bytes apart): the larger of
/// its left-right and up-down central differences. A pixel is an edge pixel when some channel's contrast
/// passes CropOptions::edge_threshold. `i` must have a pixel on each side.
inline std::uint8_t contrast(const std::uint8_t* above, const std::uint8_t* row, const std::uint8_t* below,
                             std::size_t i) {
  const auto absdiff = [](std::uint8_t a, std::uint8_t b) { return static_cast<std::uint8_t>(a > b ? a - b : b - a); };
  return std::max(absdiff(row[i + 3], row[i - 3]), absdiff(below[i], above[i]));
}

}  // namespace mystyle::image::detail
