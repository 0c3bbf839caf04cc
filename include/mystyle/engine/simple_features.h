#pragma once
/// The simple image features (image/colour_features.h) of every catalog photo, for the evaluation's
/// baselines and the compat model's colour inputs. Cached in the workspace
/// (`cache/eval-features-v<version>.bin`, checksummed; rebuilt when the items or photos change).
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/image/colour_features.h"

namespace mystyle::engine {

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
