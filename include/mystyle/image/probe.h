#pragma once
/// Reads an image's format and size from its header alone, without decoding any pixel data, so
/// that oversized inputs (decompression bombs) can be refused before a decoder allocates for them.
///
/// Recognised: JPEG (SOF segment, plus the EXIF orientation of an APP1 "Exif" segment), PNG
/// (IHDR), BMP (DIB header), WebP (VP8 / VP8L / VP8X) and GIF (logical screen). Anything else is
/// refused: the decoder only ever sees formats whose size we have checked ourselves.
/// All functions are pure and thread-safe.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mystyle::image {

/// What a header says about an image.
struct ImageInfo {
  std::string format;        ///< "jpeg", "png", "bmp", "webp" or "gif"
  int width = 0;             ///< stored width in pixels (before EXIF orientation is applied)
  int height = 0;            ///< stored height in pixels (before EXIF orientation is applied)
  int exif_orientation = 1;  ///< EXIF orientation 1..8 (JPEG only; 1 = as stored, 6 = rotate 90 CW)
  bool complete = true;      ///< false when the data visibly stops early (JPEG without end marker)

  /// Width and height after EXIF orientation: orientations 5..8 swap them.
  int display_width() const { return exif_orientation >= 5 ? height : width; }
  int display_height() const { return exif_orientation >= 5 ? width : height; }
  std::uint64_t pixels() const { return std::uint64_t(width) * std::uint64_t(height); }
};

/// Parses the header of `bytes`. `name` (a file name or an upload's name) is only used in error
/// messages. Throws mystyle::Error: kInvalidInput for empty input or a header that is cut short
/// or inconsistent (zero size, a JPEG without a frame header), kUnsupported for an unknown format.
ImageInfo probe_image(std::span<const std::uint8_t> bytes, std::string_view name);

}  // namespace mystyle::image
