#include "mystyle/image/skin.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"

namespace mystyle::image {

SkinTest skin_test(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error("skin_test: expects a non-empty 8-bit RGB image", ErrorKind::kInvalidInput);
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
  constexpr int kBand = 3;
  std::int64_t skin = 0, foreground = 0, skin_foreground = 0, band = 0, band_studio = 0;
  for (int y = 0; y < small.rows; ++y) {
    const auto* c = small.ptr<cv::Vec3b>(y);
    const auto* q = ycrcb.ptr<cv::Vec3b>(y);
    for (int x = 0; x < small.cols; ++x) {
      const cv::Vec3b p = c[x];
      const int hi = std::max({p[0], p[1], p[2]}), lo = std::min({p[0], p[1], p[2]});
      const bool backdrop = lo > 200 && hi - lo < 20;
      const bool is_skin = q[x][0] > 60 && q[x][1] >= 138 && q[x][1] <= 175 && q[x][2] >= 90 && q[x][2] <= 128;
      skin += is_skin;
      if (!backdrop) {
        ++foreground;
        skin_foreground += is_skin;
      }
      if (y < kBand || x < kBand || y >= small.rows - kBand || x >= small.cols - kBand) {
        ++band;
        band_studio += backdrop;
      }
    }
  }
  SkinTest t;
  t.skin_share = static_cast<double>(skin) / static_cast<double>(small.total());
  t.skin_of_foreground = foreground == 0 ? 0.0 : static_cast<double>(skin_foreground) / static_cast<double>(foreground);
  t.studio_frame = band == 0 ? 0.0 : static_cast<double>(band_studio) / static_cast<double>(band);
  return t;
}

}  // namespace mystyle::image
