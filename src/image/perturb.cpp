#include "mystyle/image/perturb.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

cv::Mat warp(const cv::Mat& rgb, double angle_deg, double scale, double shift_x_frac, double shift_y_frac) {
  const cv::Point2f centre(static_cast<float>(rgb.cols) / 2.0f, static_cast<float>(rgb.rows) / 2.0f);
  cv::Mat m = cv::getRotationMatrix2D(centre, angle_deg, scale);
  m.at<double>(0, 2) += shift_x_frac * rgb.cols;
  m.at<double>(1, 2) += shift_y_frac * rgb.rows;
  cv::Mat out;
  // Replicated borders continue the studio background, as a photo taken further away would show.
  cv::warpAffine(rgb, out, m, rgb.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

cv::Mat repaint_background(const cv::Mat& rgb) {
  cv::Mat out = rgb.clone();
  out.setTo(cv::Scalar(150, 170, 200), background_mask(rgb));
  return out;
}

cv::Mat scale_values(const cv::Mat& rgb, double alpha, double beta) {
  cv::Mat out;
  rgb.convertTo(out, CV_8UC3, alpha, beta);  // saturates at 0 and 255
  return out;
}

cv::Mat recompress(const cv::Mat& rgb, int quality) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> bytes;
  if (!cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, quality}))
    throw Error("JPEG encoding failed");
  cv::Mat decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
  cv::cvtColor(decoded, decoded, cv::COLOR_BGR2RGB);
  return decoded;
}

}  // namespace

cv::Mat flood_from_border(const cv::Mat& rgb, int tolerance, const cv::Mat& blocked) {
  cv::Mat mask = cv::Mat::zeros(rgb.rows + 2, rgb.cols + 2, CV_8U);
  if (!blocked.empty()) mask(cv::Rect(1, 1, rgb.cols, rgb.rows)).setTo(1, blocked);
  const cv::Scalar diff(tolerance, tolerance, tolerance);
  const int flags = 4 | cv::FLOODFILL_MASK_ONLY | (255 << 8);
  cv::Mat image = rgb.clone();  // floodFill wants a mutable image even in mask-only mode
  const int w = rgb.cols - 1, h = rgb.rows - 1;
  // Seeds all along the border, so a garment touching one edge does not cut the background off.
  for (int x = 0; x <= w; x += 8) {
    for (int y : {0, h}) {
      if (mask.at<std::uint8_t>(y + 1, x + 1) == 0)
        cv::floodFill(image, mask, {x, y}, {}, nullptr, diff, diff, flags);
    }
  }
  for (int y = 0; y <= h; y += 8) {
    for (int x : {0, w}) {
      if (mask.at<std::uint8_t>(y + 1, x + 1) == 0)
        cv::floodFill(image, mask, {x, y}, {}, nullptr, diff, diff, flags);
    }
  }
  return mask(cv::Rect(1, 1, rgb.cols, rgb.rows)) == 255;
}

std::string perturbation_name(Perturbation p) {
  switch (p) {
    case Perturbation::kNone:
      return "none (catalog photo)";
    case Perturbation::kRotate:
      return "rotate 8deg";
    case Perturbation::kScaleShift:
      return "scale 85% + shift";
    case Perturbation::kBackground:
      return "blue-grey background";
    case Perturbation::kDarker:
      return "darker x0.6";
    case Perturbation::kBrighter:
      return "brighter x1.25+25";
    case Perturbation::kBlur:
      return "blur sigma 2.5";
    case Perturbation::kJpeg:
      return "JPEG quality 20";
    case Perturbation::kCombined:
      return "combined (milder)";
  }
  return "?";
}

cv::Mat background_mask(const cv::Mat& rgb, int tolerance) {
  return flood_from_border(rgb, tolerance, cv::Mat());
}

cv::Mat perturb(const cv::Mat& rgb, Perturbation p) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("perturb: expected a CV_8UC3 RGB image");
  switch (p) {
    case Perturbation::kNone:
      return rgb.clone();
    case Perturbation::kRotate:
      return warp(rgb, 8, 1.0, 0, 0);
    case Perturbation::kScaleShift:
      return warp(rgb, 0, 0.85, 0.08, 0.05);
    case Perturbation::kBackground:
      return repaint_background(rgb);
    case Perturbation::kDarker:
      return scale_values(rgb, 0.6, 0);
    case Perturbation::kBrighter:
      return scale_values(rgb, 1.25, 25);
    case Perturbation::kBlur: {
      cv::Mat out;
      cv::GaussianBlur(rgb, out, cv::Size(0, 0), 2.5);
      return out;
    }
    case Perturbation::kJpeg:
      return recompress(rgb, 20);
    case Perturbation::kCombined:
      return recompress(scale_values(warp(repaint_background(rgb), 5, 0.9, 0.04, 0.03), 0.8, 0), 40);
  }
  return rgb.clone();
}

}  // namespace mystyle::image
