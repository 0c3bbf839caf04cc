#include "mystyle/image/squeeze.h"

#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"

namespace mystyle::image {

void squeeze_to_chw(const cv::Mat& rgb, int side, std::span<float> out) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("squeeze_to_chw: not an 8-bit RGB image");
  const auto plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  if (side < 1 || out.size() != 3 * plane) throw Error("squeeze_to_chw: the output has the wrong size");
  cv::Mat small;
  cv::resize(rgb, small, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  for (int y = 0; y < side; ++y) {
    const cv::Vec3b* row = small.ptr<cv::Vec3b>(y);
    for (int x = 0; x < side; ++x) {
      const std::size_t i =
          static_cast<std::size_t>(y) * static_cast<std::size_t>(side) + static_cast<std::size_t>(x);
      for (std::size_t c = 0; c < 3; ++c) out[c * plane + i] = row[x][static_cast<int>(c)] * (1.0f / 255.0f);
    }
  }
}

}  // namespace mystyle::image
