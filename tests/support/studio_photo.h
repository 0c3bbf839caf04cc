#pragma once
/// A synthetic studio shot shared by the image and feature tests.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace mystyle::testing {

/// An off-white studio shot (120x90) with a vertical light gradient and a dark red rectangle (the
/// product) at x 25-64, y 30-89.
inline cv::Mat product_photo() {
  cv::Mat img(120, 90, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) img.row(y).setTo(cv::Scalar(240 - y / 10, 238 - y / 10, 232 - y / 10));
  cv::rectangle(img, cv::Rect(25, 30, 40, 60), cv::Scalar(150, 20, 30), cv::FILLED);
  return img;
}

}  // namespace mystyle::testing
