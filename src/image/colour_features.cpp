#include "mystyle/image/colour_features.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"
#include "mystyle/image/crop.h"

namespace mystyle::image {
namespace {

/// `in` scaled to unit length (all zeros when zero).
void normalise_into(std::span<const float> in, std::span<float> out) {
  double sq = 0;
  for (float v : in) sq += double(v) * v;
  const float scale = sq > 0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0f;
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = in[i] * scale;
}

/// `in` minus its mean, scaled to length `length` (all zeros when constant).
void centre_into(std::span<const float> in, std::span<float> out, double length) {
  double mean = 0;
  for (float v : in) mean += v;
  mean /= static_cast<double>(in.size());
  double sq = 0;
  for (float v : in) sq += (v - mean) * (v - mean);
  const double scale = sq > 0 ? length / std::sqrt(sq) : 0.0;
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>((in[i] - mean) * scale);
}

}  // namespace

void compute_simple_features(const cv::Mat& rgb, std::span<float> grey, std::span<float> colour,
                             std::span<float> hsv) {
  if (grey.size() != kGreyDim || colour.size() != kColourDim || hsv.size() != kHsvDim) {
    throw Error("compute_simple_features: wrongly sized output spans");
  }
  const CropBox b = find_object_box(rgb, CropOptions{});
  cv::Mat thumb, thumb_grey;
  // The whole photo, squeezed: the catalog shoots every product at one scale, so where the object
  // ends in the frame tells its size (a long coat from a top), a cue the object crop removes.
  cv::resize(rgb, thumb, cv::Size(kThumbSidePx, kThumbSidePx), 0, 0, cv::INTER_AREA);
  cv::cvtColor(thumb, thumb_grey, cv::COLOR_RGB2GRAY);
  for (int y = 0; y < kThumbSidePx; ++y) {
    for (int x = 0; x < kThumbSidePx; ++x) {
      const auto& px = thumb.at<cv::Vec3b>(y, x);
      const std::size_t i = static_cast<std::size_t>(y * kThumbSidePx + x);
      grey[i] = thumb_grey.at<std::uint8_t>(y, x) / 255.0f;
      for (int c = 0; c < 3; ++c) colour[i * 3 + static_cast<std::size_t>(c)] = px[c] / 255.0f;
    }
  }

  // Histogram of the object's pixels: inside the object box and unlike the background. A white
  // garment on the off-white background may leave almost nothing; then the whole box counts.
  const cv::Rect box = cv::Rect(b.x, b.y, b.width, b.height) & cv::Rect(0, 0, rgb.cols, rgb.rows);
  const cv::Mat region = rgb(box);
  const cv::Vec3b bg = estimate_background(rgb);
  cv::Mat hsv_img;
  cv::cvtColor(region, hsv_img, cv::COLOR_RGB2HSV);  // H 0..179, S and V 0..255
  std::fill(hsv.begin(), hsv.end(), 0.0f);
  auto bin_of = [](const cv::Vec3b& h) {
    const int hb = std::min(kHueBins - 1, h[0] * kHueBins / 180);
    const int sb = h[1] * kSatBins / 256, vb = h[2] * kValBins / 256;
    return static_cast<std::size_t>((hb * kSatBins + sb) * kValBins + vb);
  };
  std::size_t counted = 0;
  for (int pass = 0; pass < 2 && counted * 20 < static_cast<std::size_t>(box.area()); ++pass) {
    std::fill(hsv.begin(), hsv.end(), 0.0f);
    counted = 0;
    for (int y = 0; y < region.rows; ++y) {
      for (int x = 0; x < region.cols; ++x) {
        const auto& px = region.at<cv::Vec3b>(y, x);
        const bool object = std::abs(px[0] - bg[0]) > kMaskThreshold ||
                            std::abs(px[1] - bg[1]) > kMaskThreshold ||
                            std::abs(px[2] - bg[2]) > kMaskThreshold;
        if (pass == 0 && !object) continue;
        hsv[bin_of(hsv_img.at<cv::Vec3b>(y, x))] += 1.0f;
        ++counted;
      }
    }
  }
  if (counted > 0) {
    for (float& v : hsv) v /= static_cast<float>(counted);
  }
}

void colour_plus_hsv_into(std::span<const float> colour, std::span<const float> hsv, std::span<float> out) {
  if (colour.size() != kColourDim || hsv.size() != kHsvDim || out.size() != kColourDim + kHsvDim) {
    throw Error("colour_plus_hsv: wrongly sized spans");
  }
  normalise_into(colour, out.first(kColourDim));
  normalise_into(hsv, out.subspan(kColourDim));
}

void centred_colour_plus_hsv_into(std::span<const float> colour, std::span<const float> hsv,
                                  std::span<float> out) {
  if (colour.size() != kColourDim || hsv.size() != kHsvDim || out.size() != kColourDim + kHsvDim) {
    throw Error("centred_colour_plus_hsv: wrongly sized spans");
  }
  centre_into(colour, out.first(kColourDim), 1.0);
  centre_into(hsv, out.subspan(kColourDim), kCentredHsvWeight);
}

std::vector<float> colour_features(const cv::Mat& rgb) {
  std::vector<float> grey(kGreyDim), colour(kColourDim), hsv(kHsvDim), out(kColourDim + kHsvDim);
  compute_simple_features(rgb, grey, colour, hsv);
  centred_colour_plus_hsv_into(colour, hsv, out);
  return out;
}

}  // namespace mystyle::image
