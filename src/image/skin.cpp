#include "mystyle/image/skin.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"

namespace mystyle::image {

double skin_share(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error("skin_share: expects a non-empty 8-bit RGB image", ErrorKind::kInvalidInput);
  }
  const double scale = static_cast<double>(kSkinThumbnailSide) / std::max(rgb.cols, rgb.rows);
  cv::Mat small;
  if (scale < 1.0) {
    const cv::Size size(std::max(1, static_cast<int>(rgb.cols * scale + 0.5)),
                        std::max(1, static_cast<int>(rgb.rows * scale + 0.5)));
    cv::resize(rgb, small, size, 0, 0, cv::INTER_AREA);
  } else {
    small = rgb;
  }
  cv::Mat ycrcb;
  cv::cvtColor(small, ycrcb, cv::COLOR_RGB2YCrCb);
  std::int64_t skin = 0;
  for (int y = 0; y < ycrcb.rows; ++y) {
    const auto* row = ycrcb.ptr<cv::Vec3b>(y);
    for (int x = 0; x < ycrcb.cols; ++x) {
      const cv::Vec3b p = row[x];
      skin += p[0] > 60 && p[1] >= 138 && p[1] <= 175 && p[2] >= 90 && p[2] <= 128;
    }
  }
  return static_cast<double>(skin) / static_cast<double>(ycrcb.total());
}

}  // namespace mystyle::image
