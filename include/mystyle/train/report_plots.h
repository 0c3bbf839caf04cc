#pragma once
/// Pictures for reports, drawn with OpenCV (no plotting library): loss curves and image grids.
#include <opencv2/core/mat.hpp>
#include <span>
#include <string>
#include <vector>

namespace mystyle::train {

struct Series {
  std::string label;
  std::vector<double> values;  ///< y for x = 1, 2, ...
  cv::Scalar colour;           ///< BGR
};

/// A line chart of `series` over epochs with axes, ticks and a legend. BGR, 800x480.
cv::Mat plot_series(std::span<const Series> series, const std::string& title, const std::string& y_label);

/// Rows of RGB uint8 images (all the same size), scaled by `zoom`, with a label at the left of each
/// row. Returns a BGR image, ready for cv::imwrite.
cv::Mat image_grid(const std::vector<std::vector<cv::Mat>>& rows, const std::vector<std::string>& row_labels,
                   int zoom);

}  // namespace mystyle::train
