#pragma once
/// Decoding untrusted image bytes (uploads, catalog files) into 8-bit RGB, with limits checked
/// from the header before any pixel is decoded.
///
/// Output is always CV_8UC3 in RGB order (not OpenCV's BGR), EXIF orientation applied:
/// grayscale is replicated to three channels, 16-bit samples are scaled to 8 bits (v / 257,
/// rounded), and alpha is composited over white. All functions are thread-safe (no shared state).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string_view>

#include "mystyle/image/probe.h"

namespace mystyle::image {

/// Limits applied before decoding. The defaults suit phone photos and the catalog's product shots.
struct DecodeLimits {
  std::size_t max_bytes = std::size_t{32} << 20;  ///< largest accepted encoded size, in bytes
  std::uint64_t max_pixels = 40'000'000;          ///< largest accepted width * height (from the header)
};

/// Decodes `bytes` to CV_8UC3 RGB. `name` appears in every error message.
///
/// `min_side_px` > 0 allows a faster, reduced JPEG decode (libjpeg's DCT scaling by 1/2, 1/4 or
/// 1/8) as long as the shorter side of the result stays >= `min_side_px`; 0 always decodes at
/// full size. The reduced image's sides are ceil(side / factor).
///
/// Throws mystyle::Error: kTooLarge when bytes.size() > max_bytes or the header's width * height >
/// max_pixels (refused without decoding); kUnsupported for an unknown format or one this OpenCV
/// build cannot decode; kInvalidInput for empty, truncated or corrupt data.
cv::Mat decode_image(std::span<const std::uint8_t> bytes, std::string_view name,
                     const DecodeLimits& limits = {}, int min_side_px = 0);

/// The reduction decode_image(bytes, ..., min_side_px) applies to an image with this header: the
/// largest of 1, 2, 4, 8 that keeps the shorter side >= min_side_px for a JPEG; 1 for every other
/// format (decoded at full size). Two decodes of the same bytes give the same pixels when their
/// reductions are equal.
int decode_reduction(const ImageInfo& info, int min_side_px);

/// Reads and decodes a file (see decode_image). The size limit is checked before reading.
/// Throws kNotFound when the file does not exist, kIo when it cannot be read.
cv::Mat read_image(const std::filesystem::path& path, const DecodeLimits& limits = {}, int min_side_px = 0);

/// Applies EXIF orientation `orientation` (1..8) to `image` in place, as a viewer would display it.
void apply_exif_orientation(cv::Mat& image, int orientation);

}  // namespace mystyle::image
