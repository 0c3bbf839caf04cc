#include "mystyle/image/probe.h"

#include <array>
#include <cstring>
#include <limits>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

using Bytes = std::span<const std::uint8_t>;

[[noreturn]] void fail(std::string_view name, const std::string& what, ErrorKind kind) {
  throw Error("image '" + std::string(name) + "': " + what, kind);
}

bool starts_with(Bytes b, std::size_t at, std::string_view magic) {
  return b.size() >= at + magic.size() && std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}

std::uint32_t be16(Bytes b, std::size_t at) {
  return (std::uint32_t(b[at]) << 8) | b[at + 1];
}
std::uint32_t be32(Bytes b, std::size_t at) {
  return (be16(b, at) << 16) | be16(b, at + 2);
}
std::uint32_t le16(Bytes b, std::size_t at) {
  return b[at] | (std::uint32_t(b[at + 1]) << 8);
}
std::uint32_t le24(Bytes b, std::size_t at) {
  return le16(b, at) | (std::uint32_t(b[at + 2]) << 16);
}
std::uint32_t le32(Bytes b, std::size_t at) {
  return le16(b, at) | (le16(b, at + 2) << 16);
}

// Checks that a declared size is positive and fits an int; the pixel limit is the decoder's job.
ImageInfo make_info(std::string_view name, std::string format, std::uint64_t width, std::uint64_t height) {
  constexpr std::uint64_t kMaxDimension = std::numeric_limits<int>::max();
  if (width == 0 || height == 0 || width > kMaxDimension || height > kMaxDimension) {
    fail(name,
         format + " header declares an invalid size " + std::to_string(width) + "x" + std::to_string(height),
         ErrorKind::kInvalidInput);
  }
  ImageInfo info;
  info.format = std::move(format);
  info.width = static_cast<int>(width);
  info.height = static_cast<int>(height);
  return info;
}

// Orientation tag (0x0112) of IFD0 in a TIFF block; 1 when absent or malformed, since a broken
// EXIF block should not make an otherwise good photo undecodable.
int parse_exif_orientation(Bytes tiff) {
  if (tiff.size() < 8) return 1;
  const bool little = starts_with(tiff, 0, "II");
  if (!little && !starts_with(tiff, 0, "MM")) return 1;
  auto u16 = [&](std::size_t at) { return little ? le16(tiff, at) : be16(tiff, at); };
  auto u32 = [&](std::size_t at) { return little ? le32(tiff, at) : be32(tiff, at); };
  if (u16(2) != 42) return 1;
  const std::size_t ifd = u32(4);
  if (ifd + 2 > tiff.size()) return 1;
  const std::size_t count = u16(ifd);
  constexpr std::size_t kEntryBytes = 12;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t entry = ifd + 2 + i * kEntryBytes;
    if (entry + kEntryBytes > tiff.size()) return 1;
    constexpr std::uint32_t kOrientationTag = 0x0112, kShortType = 3;
    if (u16(entry) != kOrientationTag) continue;
    if (u16(entry + 2) != kShortType) return 1;
    const int value = static_cast<int>(u16(entry + 8));
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

ImageInfo probe_jpeg(Bytes b, std::string_view name) {
  int orientation = 1;
  std::size_t pos = 2;
  while (true) {
    if (pos >= b.size())
      fail(name, "JPEG ends before its frame header (truncated?)", ErrorKind::kInvalidInput);
    if (b[pos] != 0xFF)
      fail(name, "JPEG segment marker expected at byte " + std::to_string(pos), ErrorKind::kInvalidInput);
    while (pos < b.size() && b[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= b.size()) continue;
    const std::uint8_t marker = b[pos++];
    const bool standalone = marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7);
    if (standalone) continue;
    if (marker == 0xD8 || marker == 0xD9) fail(name, "JPEG has no frame header", ErrorKind::kInvalidInput);
    if (pos + 2 > b.size())
      fail(name, "JPEG ends inside a segment header (truncated?)", ErrorKind::kInvalidInput);
    const std::size_t length = be16(b, pos);
    if (length < 2 || pos + length > b.size())
      fail(name, "JPEG segment runs past the end of the data (truncated?)", ErrorKind::kInvalidInput);
    const Bytes data = b.subspan(pos + 2, length - 2);
    const bool is_sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (marker == 0xE1 && starts_with(data, 0, std::string_view("Exif\0\0", 6))) {
      orientation = parse_exif_orientation(data.subspan(6));
    } else if (marker == 0xDA) {
      fail(name, "JPEG scan starts before any frame header", ErrorKind::kInvalidInput);
    } else if (is_sof) {
      if (data.size() < 6) fail(name, "JPEG frame header is too short", ErrorKind::kInvalidInput);
      ImageInfo info = make_info(name, "jpeg", be16(data, 3), be16(data, 1));
      info.exif_orientation = orientation;
      // Entropy-coded data escapes 0xFF, so a real end-of-image marker appears only at the end;
      // without one the file was cut short (libjpeg would pad it with grey and only warn).
      info.complete = false;
      for (std::size_t i = b.size() - 1; i > pos + length; --i) {
        if (b[i] == 0xD9 && b[i - 1] == 0xFF) {
          info.complete = true;
          break;
        }
      }
      // EXIF may come after the frame header in unusual files; keep scanning up to the scan.
      for (std::size_t p = pos + length; p + 4 <= b.size() && b[p] == 0xFF && b[p + 1] != 0xDA;) {
        const std::size_t len = be16(b, p + 2);
        if (len < 2 || p + 2 + len > b.size()) break;
        if (b[p + 1] == 0xE1 && starts_with(b, p + 4, std::string_view("Exif\0\0", 6))) {
          info.exif_orientation = parse_exif_orientation(b.subspan(p + 10, len - 8));
        }
        p += 2 + len;
      }
      return info;
    }
    pos += length;
  }
}

ImageInfo probe_png(Bytes b, std::string_view name) {
  constexpr std::size_t kIhdrEnd = 8 + 8 + 13;  // signature, chunk length + type, IHDR data
  if (b.size() < kIhdrEnd || !starts_with(b, 12, "IHDR"))
    fail(name, "PNG has no IHDR chunk (truncated?)", ErrorKind::kInvalidInput);
  return make_info(name, "png", be32(b, 16), be32(b, 20));
}

ImageInfo probe_bmp(Bytes b, std::string_view name) {
  if (b.size() < 26) fail(name, "BMP header is truncated", ErrorKind::kInvalidInput);
  const std::uint32_t dib_size = le32(b, 14);
  if (dib_size == 12) return make_info(name, "bmp", le16(b, 18), le16(b, 20));  // OS/2 core header
  const auto width = static_cast<std::int32_t>(le32(b, 18));
  const auto height = static_cast<std::int32_t>(le32(b, 22));  // negative: rows stored top-down
  const std::int64_t abs_height = height < 0 ? -std::int64_t(height) : height;
  return make_info(name, "bmp", width < 0 ? 0 : std::uint64_t(width), std::uint64_t(abs_height));
}

ImageInfo probe_webp(Bytes b, std::string_view name) {
  if (b.size() < 30) fail(name, "WebP header is truncated", ErrorKind::kInvalidInput);
  if (starts_with(b, 12, "VP8 ")) {
    if (b[23] != 0x9D || b[24] != 0x01 || b[25] != 0x2A)
      fail(name, "WebP VP8 frame has a bad start code", ErrorKind::kInvalidInput);
    return make_info(name, "webp", le16(b, 26) & 0x3FFF, le16(b, 28) & 0x3FFF);
  }
  if (starts_with(b, 12, "VP8L")) {
    if (b[20] != 0x2F) fail(name, "WebP lossless frame has a bad signature", ErrorKind::kInvalidInput);
    const std::uint32_t bits = le32(b, 21);
    return make_info(name, "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  }
  if (starts_with(b, 12, "VP8X")) return make_info(name, "webp", le24(b, 24) + 1, le24(b, 27) + 1);
  fail(name, "WebP has an unknown first chunk", ErrorKind::kUnsupported);
}

ImageInfo probe_gif(Bytes b, std::string_view name) {
  if (b.size() < 10) fail(name, "GIF header is truncated", ErrorKind::kInvalidInput);
  return make_info(name, "gif", le16(b, 6), le16(b, 8));
}

std::string describe_start(Bytes b) {
  std::string out;
  constexpr std::size_t kShown = 8;
  constexpr std::array<char, 16> kHex{'0', '1', '2', '3', '4', '5', '6', '7',
                                      '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  for (std::size_t i = 0; i < b.size() && i < kShown; ++i) {
    if (i > 0) out += ' ';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xF];
  }
  return out;
}

}  // namespace

ImageInfo probe_image(Bytes bytes, std::string_view name) {
  if (bytes.empty()) fail(name, "is empty (0 bytes)", ErrorKind::kInvalidInput);
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
    return probe_jpeg(bytes, name);
  if (starts_with(bytes, 0, "\x89PNG\r\n\x1a\n")) return probe_png(bytes, name);
  if (starts_with(bytes, 0, "BM")) return probe_bmp(bytes, name);
  if (starts_with(bytes, 0, "RIFF") && starts_with(bytes, 8, "WEBP")) return probe_webp(bytes, name);
  if (starts_with(bytes, 0, "GIF87a") || starts_with(bytes, 0, "GIF89a")) return probe_gif(bytes, name);
  fail(name,
       "not a recognised image format (JPEG, PNG, BMP, WebP or GIF expected; first bytes: " +
           describe_start(bytes) + ")",
       ErrorKind::kUnsupported);
}

}  // namespace mystyle::image
