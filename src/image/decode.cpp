#include "mystyle/image/decode.h"

#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

[[noreturn]] void fail(std::string_view name, const std::string& what, ErrorKind kind) {
  throw Error("image '" + std::string(name) + "': " + what, kind);
}

}  // namespace

int decode_reduction(const ImageInfo& info, int min_side_px) {
  if (info.format != "jpeg" || min_side_px <= 0) return 1;
  const int shorter = std::min(info.width, info.height);
  for (int factor : {8, 4, 2}) {
    if ((shorter + factor - 1) / factor >= min_side_px) return factor;
  }
  return 1;
}

namespace {

int jpeg_flags(int factor) {
  int flags = cv::IMREAD_COLOR;
  if (factor == 2) flags = cv::IMREAD_REDUCED_COLOR_2;
  if (factor == 4) flags = cv::IMREAD_REDUCED_COLOR_4;
  if (factor == 8) flags = cv::IMREAD_REDUCED_COLOR_8;
  // Orientation is applied by us from our own header parse, identically for every decode path.
  return flags | cv::IMREAD_IGNORE_ORIENTATION;
}

// libjpeg-turbo called directly: straight to RGB, with the same library, DCT method, upsampling
// and scaling as OpenCV's imdecode (the pixels are identical, tested), in half the time (OpenCV
// adds a BGR pass and more per call; a photo query spends a quarter of its time decoding).
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

void jpeg_quiet(j_common_ptr /*info*/) {}  // warnings (e.g. extraneous bytes) are not printed

// Decodes a YCbCr or grayscale JPEG into `rgb` (reduced by `factor`); returns false for other
// colour spaces (CMYK, YCCK: OpenCV's path handles them). libjpeg reports errors by longjmp: this
// frame holds nothing with a destructor between setjmp and the jump.
bool decode_jpeg_rgb(std::span<const std::uint8_t> bytes, int factor, cv::Mat& rgb, std::string& error) {
  jpeg_decompress_struct info{};
  JpegErrors errors{};
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_fail;
  errors.manager.output_message = jpeg_quiet;
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&info);
    error = errors.message;
    return true;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  if (info.jpeg_color_space != JCS_YCbCr && info.jpeg_color_space != JCS_GRAYSCALE &&
      info.jpeg_color_space != JCS_RGB) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  info.out_color_space = JCS_RGB;
  info.scale_num = 1;
  info.scale_denom = static_cast<unsigned int>(factor);
  jpeg_start_decompress(&info);
  rgb.create(static_cast<int>(info.output_height), static_cast<int>(info.output_width), CV_8UC3);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = rgb.ptr<std::uint8_t>(static_cast<int>(info.output_scanline));
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return true;
}

// BGR(A)/gray, 8- or 16-bit, as OpenCV decodes it -> 8-bit RGB; alpha composited over white.
cv::Mat to_rgb8(const cv::Mat& raw, std::string_view name) {
  cv::Mat eight;
  if (raw.depth() == CV_8U) {
    eight = raw;
  } else if (raw.depth() == CV_16U) {
    raw.convertTo(eight, CV_8U, 1.0 / 257.0);  // 65535 -> 255 exactly, rounded
  } else {
    fail(name, "has an unsupported sample type (only 8- and 16-bit images are accepted)",
         ErrorKind::kUnsupported);
  }
  cv::Mat rgb;
  switch (eight.channels()) {
    case 1:
      cv::cvtColor(eight, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(eight, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      rgb.create(eight.rows, eight.cols, CV_8UC3);
      for (int y = 0; y < eight.rows; ++y) {
        const auto* in = eight.ptr<std::uint8_t>(y);
        auto* out = rgb.ptr<std::uint8_t>(y);
        for (int x = 0; x < eight.cols; ++x, in += 4, out += 3) {
          const unsigned alpha = in[3];
          const unsigned white = 255u * (255u - alpha) + 127u;  // rounds the division below
          out[0] = static_cast<std::uint8_t>((in[2] * alpha + white) / 255u);
          out[1] = static_cast<std::uint8_t>((in[1] * alpha + white) / 255u);
          out[2] = static_cast<std::uint8_t>((in[0] * alpha + white) / 255u);
        }
      }
      break;
    default:
      fail(name, "has " + std::to_string(eight.channels()) + " channels (1, 3 or 4 expected)",
           ErrorKind::kUnsupported);
  }
  return rgb;
}

}  // namespace

void apply_exif_orientation(cv::Mat& image, int orientation) {
  // The same table as OpenCV's own ApplyExifOrientation (EXIF 2.3, tag 0x0112).
  switch (orientation) {
    case 2:
      cv::flip(image, image, 1);
      break;
    case 3:
      cv::flip(image, image, -1);
      break;
    case 4:
      cv::flip(image, image, 0);
      break;
    case 5:
      cv::transpose(image, image);
      break;
    case 6:
      cv::rotate(image, image, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7:
      cv::transpose(image, image);
      cv::flip(image, image, -1);
      break;
    case 8:
      cv::rotate(image, image, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      break;  // 1 (or anything invalid): as stored
  }
}

cv::Mat decode_image(std::span<const std::uint8_t> bytes, std::string_view name, const DecodeLimits& limits,
                     int min_side_px) {
  if (bytes.size() > limits.max_bytes) {
    fail(name,
         "is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
             std::to_string(limits.max_bytes),
         ErrorKind::kTooLarge);
  }
  const ImageInfo info = probe_image(bytes, name);
  if (info.pixels() > limits.max_pixels) {
    fail(name,
         info.format + " header declares " + std::to_string(info.width) + "x" + std::to_string(info.height) +
             " = " + std::to_string(info.pixels()) + " pixels, over the limit of " +
             std::to_string(limits.max_pixels),
         ErrorKind::kTooLarge);
  }
  if (!info.complete) fail(name, "JPEG is truncated (no end-of-image marker)", ErrorKind::kInvalidInput);

  const bool jpeg = info.format == "jpeg";
  const int factor = decode_reduction(info, min_side_px);
  if (jpeg) {
    cv::Mat rgb;
    std::string error;
    if (decode_jpeg_rgb(bytes, factor, rgb, error)) {
      if (!error.empty() || rgb.empty()) {
        fail(name, "could not be decoded as jpeg: " + (error.empty() ? std::string("no pixels") : error),
             ErrorKind::kInvalidInput);
      }
      apply_exif_orientation(rgb, info.exif_orientation);
      return rgb;
    }
  }
  const int flags = jpeg ? jpeg_flags(factor) : cv::IMREAD_UNCHANGED;
  cv::Mat raw;
  try {
    // imdecode only reads the buffer; the const_cast is for cv::Mat's constructor.
    const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                          const_cast<std::uint8_t*>(bytes.data()));
    raw = cv::imdecode(encoded, flags);
  } catch (const cv::Exception& e) {
    fail(name, "could not be decoded as " + info.format + ": " + e.err, ErrorKind::kInvalidInput);
  }
  if (raw.empty()) {
    if (info.format == "gif" || info.format == "webp") {
      fail(name,
           info.format + " could not be decoded (this OpenCV build may lack a " + info.format + " decoder)",
           ErrorKind::kUnsupported);
    }
    fail(name, "could not be decoded as " + info.format + " (corrupt or truncated data)",
         ErrorKind::kInvalidInput);
  }
  cv::Mat rgb = to_rgb8(raw, name);
  if (jpeg) apply_exif_orientation(rgb, info.exif_orientation);
  return rgb;
}

cv::Mat read_image(const std::filesystem::path& path, const DecodeLimits& limits, int min_side_px) {
  const std::string name = path.string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(name, "file not found", ErrorKind::kNotFound);
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) fail(name, "cannot read: " + ec.message(), ErrorKind::kIo);
  if (size > limits.max_bytes) {
    fail(name, "is " + std::to_string(size) + " bytes, over the limit of " + std::to_string(limits.max_bytes),
         ErrorKind::kTooLarge);
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(name, "cannot open for reading", ErrorKind::kIo);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
    fail(name, "read failed (file changed?)", ErrorKind::kIo);
  return decode_image(bytes, name, limits, min_side_px);
}

}  // namespace mystyle::image
