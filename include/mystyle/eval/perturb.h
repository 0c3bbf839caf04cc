#pragma once
/// Edits that take the garment out of MANGO's studio, for the transfer evaluation (TransferEdit:
/// other background, lighting, framing, laid flat, a wider cut). All take and return CV_8UC3 RGB
/// images of the input's size, leave the input untouched, and are thread-safe. The robustness
/// evaluation's edits (a user's photo of the product) are image::perturb (image/perturb.h), which the
/// colour model's training job uses too.
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

namespace mystyle::eval {

/// A photo of the garment as another shop or a user might take it. Random choices (texture, colours,
/// direction, amounts) come from the seed passed to transfer_edit: the same seed, the same image.
enum class TransferEdit {
  kNone,        ///< the catalog photo itself
  kBackground,  ///< the studio background replaced by a texture: wood, linen, a painted wall or concrete
  kLighting,    ///< a directional light ramp (x0.5 to x1.3 across the frame) and a warm or cool white balance
  kSmall,       ///< the garment scaled to 50-60% and moved off-centre on the studio background
  kTightCrop,   ///< a crop of the photo's aspect, 80-88% of the garment's extent: its edges are cut off
  kLaidFlat,    ///< seen at an angle (keystone, 8-14% narrower at the top) with a soft shadow on a texture
  kWideCut,     ///< the garment stretched x1.3-1.4 horizontally about its centre, on the studio background
  kCombined,    ///< wide cut, laid flat on a texture, lighting, then (by seed) small (60-70%) or a tight crop
};

inline constexpr TransferEdit kAllTransferEdits[] = {
    TransferEdit::kNone,      TransferEdit::kBackground, TransferEdit::kLighting, TransferEdit::kSmall,
    TransferEdit::kTightCrop, TransferEdit::kLaidFlat,   TransferEdit::kWideCut,  TransferEdit::kCombined};

/// A short name for tables and JSON ("none", "textured background", ...).
std::string transfer_edit_name(TransferEdit edit);

/// A product photo's garment, found once for all its edits (the slow part: about 10-20 ms).
struct GarmentCutout {
  /// CV_8U, 255 = garment: GrabCut (colour models of garment and background and a smoothness term)
  /// on a copy at most 160 px on its longer side, started from what a flood fill from the border
  /// that never crosses an outline leaves (a white garment on off-white is still found); components
  /// under 0.2% of the image dropped; all 255 when nothing stands out.
  cv::Mat mask;
  /// CV_8UC3 RGB: the photo with the garment, and the studio shadow next to it, painted out (the
  /// background around it, averaged over a pyramid).
  cv::Mat background;
};

/// Throws mystyle::Error (kInvalidInput) unless `rgb` is a non-empty CV_8UC3 image. Thread-safe
/// (GrabCut's k-means is seeded, so the same photo gives the same garment).
GarmentCutout find_garment(const cv::Mat& rgb);

/// find_garment(rgb).mask.
cv::Mat garment_mask(const cv::Mat& rgb);

/// The edited photo. Throws mystyle::Error (kInvalidInput) unless `rgb` is a non-empty CV_8UC3
/// image (and `garment` was found in an image of its size, for edits that move the garment).
cv::Mat transfer_edit(const cv::Mat& rgb, TransferEdit edit, std::uint64_t seed);
cv::Mat transfer_edit(const cv::Mat& rgb, const GarmentCutout& garment, TransferEdit edit,
                      std::uint64_t seed);

/// The wide-cut edit with an explicit factor: the garment (garment_mask) stretched `factor` times
/// horizontally about its bounding box's centre, over the studio background filled in where it was.
cv::Mat widen_garment(const cv::Mat& rgb, double factor);

}  // namespace mystyle::eval
