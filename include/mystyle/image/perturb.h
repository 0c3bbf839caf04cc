#pragma once
/// Deterministic edits that make a catalog product photo look like a user's photo of the product:
/// what `mystyle eval robustness` searches with, and what the colour model's training job checks its
/// ranking against on the validation designs (train/colour_job.cpp). All take and return CV_8UC3 RGB
/// images of the input's size, leave the input untouched, and are thread-safe.
#include <opencv2/core/mat.hpp>
#include <string>

namespace mystyle::image {

enum class Perturbation {
  kNone,        ///< the catalog photo itself (through the query pipeline)
  kRotate,      ///< rotated 8 degrees about the centre, borders replicated
  kScaleShift,  ///< scaled to 85% and shifted by 8% / 5% of the width / height
  kBackground,  ///< the background (flood-filled from the border) repainted blue-grey
  kDarker,      ///< pixel values x 0.6
  kBrighter,    ///< pixel values x 1.25 + 25
  kBlur,        ///< Gaussian blur, sigma 2.5 px
  kJpeg,        ///< recompressed as JPEG quality 20
  kCombined,    ///< milder versions of all the above at once: 5 degrees, 90%, background, x 0.8, JPEG 40
};

inline constexpr Perturbation kAllPerturbations[] = {
    Perturbation::kNone,       Perturbation::kRotate, Perturbation::kScaleShift,
    Perturbation::kBackground, Perturbation::kDarker, Perturbation::kBrighter,
    Perturbation::kBlur,       Perturbation::kJpeg,   Perturbation::kCombined};

/// A short name for tables and JSON ("none", "rotate 8deg", ...).
std::string perturbation_name(Perturbation p);

cv::Mat perturb(const cv::Mat& rgb, Perturbation p);

/// Pixels connected to the image border whose colour changes by at most `tolerance` levels from
/// neighbour to neighbour (the studio background): CV_8U, 255 = background.
cv::Mat background_mask(const cv::Mat& rgb, int tolerance = 3);

/// Pixels reached from the image border by steps of at most `tolerance` levels from neighbour to
/// neighbour, never entering `blocked` (CV_8U, non-zero = blocked; empty = nothing blocked): CV_8U,
/// 255 = reached.
cv::Mat flood_from_border(const cv::Mat& rgb, int tolerance, const cv::Mat& blocked);

}  // namespace mystyle::image
