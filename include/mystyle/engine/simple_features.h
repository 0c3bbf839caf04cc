#pragma once
/// The simple image features the evaluation compares the trained encoder against, computed from
/// the item photos: a 16x16 grey thumbnail, a 16x16 colour thumbnail (both of the whole photo,
/// squeezed to a square: the product's extent in the frame is kept) and an HSV colour histogram of
/// the object's pixels (pixels of the object box, image::find_object_box, that differ from the
/// background colour). Cached in the workspace
/// (`cache/eval-features-v<version>.bin`, checksummed; rebuilt when the items or photos change).
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"

namespace mystyle::engine {

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
/// `rgb` is CV_8UC3 RGB (as image::read_image returns). Thread-safe.
/// One item's row of SimpleFeatures::centred_colour_plus_hsv(): the colour thumbnail centred to unit
/// length, then the HSV histogram centred to length kCentredHsvWeight, into `out`
/// (kColourDim + kHsvDim numbers).
void centred_colour_plus_hsv_into(std::span<const float> colour, std::span<const float> hsv, std::span<float> out);

void compute_simple_features(const cv::Mat& rgb, std::span<float> grey, std::span<float> colour,
                             std::span<float> hsv);

/// Features of many items; row i of each matrix belongs to ids[i] (ascending).
struct SimpleFeatures {
  std::vector<std::int64_t> ids;
  std::vector<float> grey, colour, hsv;  ///< [ids.size(), k*Dim] row-major
  std::vector<std::string> warnings;     ///< photos that could not be decoded (left out)
  bool from_cache = false;

  std::size_t size() const { return ids.size(); }
  /// The "simple" scorer's vector: the colour thumbnail and the HSV histogram, each scaled to unit
  /// length, side by side (kColourDim + kHsvDim numbers per row).
  std::vector<float> colour_plus_hsv() const;
  /// The same two parts each centred (its mean subtracted) before scaling to unit length, so cosine
  /// is each part's Pearson correlation, the histogram then weighted kCentredHsvWeight: without
  /// centring, every thumbnail's cosine is near 1 (the background is most of the photo) and the
  /// histogram alone decides who is near whom (docs/results.md, section 2).
  std::vector<float> centred_colour_plus_hsv() const;
};

/// Loads the cached features of `items` (those with a photo) or computes them with `threads`
/// workers (progress on stderr) and caches them. A corrupt cache is recomputed, with a warning.
SimpleFeatures load_simple_features(const std::filesystem::path& workspace,
                                    std::span<const catalog::Item> items, int threads);

}  // namespace mystyle::engine
