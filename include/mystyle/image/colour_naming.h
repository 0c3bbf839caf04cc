#pragma once
/// What the colour model (engine/attributes.h) reads of a photo's colour: a soft joint histogram of
/// the object's pixels in CIELAB, taken from what the model saw (Preprocessed::seen_rgb8: the object
/// crop, its backdrop normalised to the studio's grey, so a darker or brighter photo reads alike).
/// The object's pixels are those that differ from the border's median colour by more than
/// kColourNamingMask levels in some channel; each counts with a weight that falls off from the
/// centre (exp(-1.5 r^2), r = distance from the centre over half the side: a garment's colour is in
/// its middle, the backdrop's shadows and a model's skin at its edges). Bins: 8 x 8 x 8 over L
/// [0, 255] and a, b [64, 192] (8-bit Lab), trilinear; the histogram sums to 1 and is square-rooted
/// (a linear read-out then weighs a few strongly coloured pixels more fairly); the last number is the
/// object's share of the frame.
#include <opencv2/core/mat.hpp>
#include <vector>

namespace mystyle::image {

inline constexpr int kColourNamingBins = 8;
inline constexpr int kColourNamingDim = kColourNamingBins * kColourNamingBins * kColourNamingBins + 1;
inline constexpr int kColourNamingMask = 20;

/// kColourNamingDim numbers of a CV_8UC3 RGB image (any square or rectangular size). Throws
/// mystyle::Error (kInvalidInput) for an empty or non-CV_8UC3 image. Thread-safe.
std::vector<float> colour_naming_features(const cv::Mat& rgb);

}  // namespace mystyle::image
