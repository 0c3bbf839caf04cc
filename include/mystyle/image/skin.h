#pragma once
/// The share of a photo's pixels whose colour is skin's: a cheap first look (about 0.05 ms) that tells a
/// studio photo of a garment alone from a photo that may show a person. Measured on 1,542 MANGO catalog
/// photos and 633 CCP street photos (docs/parsing.md): every CCP photo has a share of at least 0.002,
/// while 58% of MANGO's garments have less (most of the others are beige, pink or brown garments).
/// So a photo under the threshold is a garment alone; one above it may be either and goes to the parser.
#include <opencv2/core/mat.hpp>

namespace mystyle::image {

/// The photo is looked at this many pixels on its longer side.
inline constexpr int kSkinThumbnailSide = 96;
/// Below this share of skin-coloured pixels a photo holds no visible person.
inline constexpr double kSkinShareForPerson = 0.002;

/// Share of the pixels of `rgb` (CV_8UC3 RGB) in the skin region of YCrCb (Y > 60, 138 <= Cr <= 175,
/// 90 <= Cb <= 128), on a copy scaled to kSkinThumbnailSide. Throws mystyle::Error (kInvalidInput)
/// for an empty or non-CV_8UC3 image.
double skin_share(const cv::Mat& rgb);

}  // namespace mystyle::image
