#pragma once
/// Simple image features, computed from a decoded photo: a 16x16 grey thumbnail, a 16x16 colour
/// thumbnail (both of the whole photo, squeezed to a square: the product's extent in the frame is
/// kept) and an HSV colour histogram of the object's pixels (pixels of the object box,
/// find_object_box, that differ from the background colour). The evaluation's baselines and the
/// compat model's colour inputs.
#include <opencv2/core/mat.hpp>
#include <span>
#include <vector>

namespace mystyle::image {

inline constexpr int kThumbSidePx = 16;
inline constexpr int kGreyDim = kThumbSidePx * kThumbSidePx;        ///< grey thumbnail, values in [0, 1]
inline constexpr int kColourDim = 3 * kThumbSidePx * kThumbSidePx;  ///< RGB thumbnail, HWC, values in [0, 1]
inline constexpr int kHueBins = 16, kSatBins = 4, kValBins = 4;
inline constexpr int kHsvDim = kHueBins * kSatBins * kValBins;  ///< histogram, sums to 1
/// Weight of the histogram beside the colour thumbnail in centred_colour_plus_hsv (chosen on MANGO's
/// cold-start questions of split seed 2).
inline constexpr float kCentredHsvWeight = 0.5f;
/// A pixel belongs to the object when some channel differs from the background by more than this.
inline constexpr int kMaskThreshold = 24;

/// One image's features, written into spans of kGreyDim, kColourDim and kHsvDim floats.
/// `rgb` is CV_8UC3 RGB (as read_image returns). Thread-safe.
void compute_simple_features(const cv::Mat& rgb, std::span<float> grey, std::span<float> colour,
                             std::span<float> hsv);

/// The "simple" scorer's row: the colour thumbnail and the HSV histogram, each scaled to unit
/// length, side by side, into `out` (kColourDim + kHsvDim numbers).
void colour_plus_hsv_into(std::span<const float> colour, std::span<const float> hsv, std::span<float> out);

/// The colour thumbnail centred (its mean subtracted) to unit length, then the HSV histogram
/// centred to length kCentredHsvWeight, into `out` (kColourDim + kHsvDim numbers): cosine is then
/// each part's Pearson correlation.
void centred_colour_plus_hsv_into(std::span<const float> colour, std::span<const float> hsv,
                                  std::span<float> out);

/// The catalog's simple features are computed on a reduced decode: read_image(path, {},
/// kColourDecodeMinSidePx), a JPEG scaled by libjpeg (1/2, 1/4, 1/8) while its shorter side stays >=
/// this. The features are defined on those pixels: an area-averaged copy of a larger decode moves
/// compat scores by up to 0.012 (measured on the demo photo), so callers reuse a decode only when
/// its reduction is the same (image::decode_reduction).
inline constexpr int kColourDecodeMinSidePx = 96;

/// One photo's colour features as the compat model takes them (centred_colour_plus_hsv_into of its
/// compute_simple_features), from a decode of the catalog's size (kColourDecodeMinSidePx).
std::vector<float> colour_features(const cv::Mat& rgb);

}  // namespace mystyle::image
