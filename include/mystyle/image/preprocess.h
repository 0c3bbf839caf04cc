#pragma once
/// The one preprocessing path shared by training, indexing and serving (the 2022 prototype's
/// train/serve mismatch must not come back): a busy background painted out (background.h; object
/// crop only) -> crop (crop.h) -> resize with cv::INTER_AREA to
/// side_px x side_px -> background normalisation (optional, on by default) -> gamma correction
/// through an 8-bit table -> floats in [0, 1], planar CHW.
///
/// Gamma is the prototype's (pyimagesearch adjust_gamma): table[i] = uint8(255 * (i / 255)^(1 / gamma)),
/// the product truncated to an integer as numpy's astype("uint8") does; gamma 0.8 darkens slightly.
/// All functions are thread-safe (no shared state); run one per thread to fill a batch.
#include <array>
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <span>
#include <vector>

#include "mystyle/image/background.h"
#include "mystyle/image/crop.h"
#include "mystyle/image/decode.h"

namespace mystyle::image {

struct PreprocessOptions {
  int image_side_px = 64;  ///< model input side: 64 or 128 for the autoencoders (1..4096 accepted)
  double gamma = 0.8;      ///< gamma of the correction table; 1.0 leaves values unchanged
  CropOptions crop;        ///< which region of the photo the model sees
  /// Photometric normalisation: scale each channel so the photo's background colour (the border
  /// median, estimate_background) becomes `background_reference`, before gamma. A user's darker,
  /// brighter or tinted photo then looks like a catalog shot. Skipped for dark backgrounds (all
  /// channels below 48), where the scale would be unreliable; factors are clamped to [0.5, 3].
  bool normalise_background = true;
  int background_reference = 240;  ///< 0..255, the same for the three channels
  /// With CropMode::kObject: a photo whose frame edge is textured (not a studio backdrop) has its
  /// background segmented and painted `background.fill` before the crop (background.h). Studio
  /// photos are unchanged.
  bool paint_out_busy_background = true;
  BackgroundOptions background;
};

/// One preprocessed image.
struct Preprocessed {
  cv::Mat seen_rgb8;  ///< CV_8UC3 RGB, image_side_px square, after gamma: what the model saw (for display)
  std::vector<float> chw;  ///< 3 x side x side floats in [0, 1], planar RGB: chw[(c * side + y) * side + x]
  CropBox object_box;      ///< see CropResult::object_box
  CropBox crop_box;        ///< see CropResult::crop_box
  bool background_painted = false;  ///< see CropResult::background_painted
};

/// The 256-entry gamma table described above. Throws kInvalidInput unless gamma > 0 and finite.
std::array<std::uint8_t, 256> gamma_table(double gamma);

/// Preprocesses a CV_8UC3 RGB image (as decode_image returns). Throws mystyle::Error
/// (kInvalidInput) for an empty or non-CV_8UC3 image or invalid options.
Preprocessed preprocess(const cv::Mat& rgb, const PreprocessOptions& options);

/// Same as preprocess, writing the CHW floats into `chw_out` (exactly 3 * side * side floats,
/// e.g. one slot of a batch tensor) and, when `seen_rgb8` is not null, the 8-bit image into it.
/// Returns the crop. Throws kInvalidInput when chw_out has the wrong size.
CropResult preprocess_into(const cv::Mat& rgb, const PreprocessOptions& options, std::span<float> chw_out,
                           cv::Mat* seen_rgb8 = nullptr);

/// The 8-bit RGB image (CV_8UC3, side_px square) of planar CHW floats in [0, 1], such as Preprocessed::chw
/// or a row of the image cache: each value times 255, rounded to the nearest level (saturate_cast: seen_rgb8 again, from bytes / 255). Throws
/// mystyle::Error (kInvalidInput) unless `chw` holds 3 * side_px * side_px floats.
cv::Mat rgb8_from_chw(std::span<const float> chw, int side_px);

/// The min_side_px that load_and_preprocess passes to read_image: large enough that a reduced
/// JPEG decode cannot lower the model's input quality (0 for kFixedWindow, whose window is in
/// full-size pixel coordinates).
int decode_min_side_px(const PreprocessOptions& options);

/// read_image(path, limits, decode_min_side_px(options)) followed by preprocess. Note that
/// object_box and crop_box are then in the (possibly reduced) decoded image's coordinates.
Preprocessed load_and_preprocess(const std::filesystem::path& path, const PreprocessOptions& options,
                                 const DecodeLimits& limits = {});

}  // namespace mystyle::image
