#pragma once
/// A whole photo as a square network input: the `parse` model sees every pixel of the photo,
/// squeezed (not cropped) to side x side, so its output maps back onto the photo by scaling alone.
#include <opencv2/core/mat.hpp>
#include <span>

namespace mystyle::image {

/// `rgb` (CV_8UC3) resized to side x side by area averaging, as floats in [0, 1], CHW, into `out`
/// (3 * side * side). Throws mystyle::Error for an empty image or a wrongly sized `out`.
void squeeze_to_chw(const cv::Mat& rgb, int side, std::span<float> out);

}  // namespace mystyle::image
