#pragma once
/// Choosing the part of a product photo that the model sees: a square centred on the object, the
/// original prototype's fixed window, or the whole image. All functions take CV_8UC3 RGB images,
/// do not modify them, and are thread-safe.
///
/// The object is found by its edges, not by its distance from one background colour: the data
/// set's studio backgrounds are lit with gradients and vignetting (a corner can be 25 levels darker
/// than the centre), which a single colour and tolerance mistake for the object, while their
/// pixel-to-pixel change stays tiny. An object, even white on off-white, has a visible outline.
#include <opencv2/core/mat.hpp>

namespace mystyle::image {

/// How the region given to the model is chosen.
enum class CropMode {
  kObject,  ///< square around the object's edges plus a margin, padded with the border's background colour
  kFixedWindow,  ///< the fixed rectangle CropOptions::fixed_window (the 2022 prototype), clamped to the image
  kNone,         ///< the whole image
};

/// A rectangle in pixels of the source image; may extend past the image (the part outside is padding).
struct CropBox {
  int x = 0;       ///< left column
  int y = 0;       ///< top row
  int width = 0;   ///< columns
  int height = 0;  ///< rows
  bool operator==(const CropBox&) const = default;
};

struct CropOptions {
  CropMode mode = CropMode::kObject;  ///< which region to keep
  /// A pixel is on an edge when, in some channel, its left and right (or upper and lower)
  /// neighbours differ by more than this many levels (0..255). Background gradients, soft shadows
  /// and JPEG noise stay below the default; object outlines exceed it.
  int edge_threshold = 20;
  /// A row (column) counts as part of the object only when it holds at least this many edge
  /// pixels, so isolated specks of noise or dust do not stretch the box.
  int min_line_pixels = 3;
  /// Margin around the object on each side, as a fraction of the object's longer side.
  double margin_frac = 0.05;
  /// The kFixedWindow rectangle: the prototype's y 250:1000, x 40:680 of its 720x1280 shots.
  CropBox fixed_window{40, 250, 640, 750};
};

/// Result of crop_image.
struct CropResult {
  cv::Mat region;  ///< the pixels to resize: a view into the source when no padding was needed, else a padded
                   ///< copy; when that copy would pass 4 x the image's pixels and 4096 x 4096 (a long,
                   ///< thin image), the square 4096 a side with the image shrunk into it
  CropBox object_box;  ///< kObject: the object's tight bounding box; other modes: same as crop_box
  CropBox crop_box;    ///< the region in source pixel coordinates (kObject: a square, possibly extending past
                       ///< the image)
  bool background_painted = false;  ///< set by preprocess_into: a busy background was painted out first (background.h)
};

/// The background colour: per-channel (lower) median of the image's outermost ring of pixels.
cv::Vec3b estimate_background(const cv::Mat& rgb);

/// Tight bounding box of the object: of the rows and columns holding at least min_line_pixels edge
/// pixels (see CropOptions; the outermost ring of pixels is never an edge pixel), less one pixel on
/// each side, since a central difference also flags the background pixel next to a sharp outline:
/// a solid rectangle on a plain background gives exactly its own box. The whole image when there
/// are no edges (a blank photo).
CropBox find_object_box(const cv::Mat& rgb, const CropOptions& options);

/// The region chosen by options.mode. Throws mystyle::Error (kInvalidInput) for an empty or
/// non-CV_8UC3 image, bad options, or a fixed window that does not overlap the image.
CropResult crop_image(const cv::Mat& rgb, const CropOptions& options);

}  // namespace mystyle::image
