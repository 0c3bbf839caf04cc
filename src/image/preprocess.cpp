#include "mystyle/image/preprocess.h"

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

constexpr int kMaxSidePx = 4096;
// A reduced JPEG decode must keep the shorter side at least this many times the model side:
// an object may fill only part of the photo, the whole image is resized as is.
constexpr int kObjectDecodeHeadroom = 4;
constexpr int kWholeDecodeHeadroom = 2;

void check_options(const PreprocessOptions& options) {
  if (options.image_side_px < 1 || options.image_side_px > kMaxSidePx) {
    throw Error("preprocess: image_side_px must be in 1.." + std::to_string(kMaxSidePx) + ", got " +
                    std::to_string(options.image_side_px),
                ErrorKind::kInvalidInput);
  }
}

}  // namespace

std::array<std::uint8_t, 256> gamma_table(double gamma) {
  if (!(gamma > 0.0) || !std::isfinite(gamma)) {
    throw Error("preprocess: gamma must be a positive number, got " + std::to_string(gamma),
                ErrorKind::kInvalidInput);
  }
  const double inverse = 1.0 / gamma;
  std::array<std::uint8_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    // Truncation, not rounding: the prototype's numpy astype("uint8").
    table[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(std::pow(i / 255.0, inverse) * 255.0);
  }
  return table;
}

CropResult preprocess_into(const cv::Mat& rgb, const PreprocessOptions& options, std::span<float> chw_out,
                           cv::Mat* seen_rgb8) {
  check_options(options);
  const int side = options.image_side_px;
  const std::size_t plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  if (chw_out.size() != 3 * plane) {
    throw Error("preprocess: output has " + std::to_string(chw_out.size()) + " floats, expected 3 x " +
                    std::to_string(side) + " x " + std::to_string(side),
                ErrorKind::kInvalidInput);
  }
  const std::array<std::uint8_t, 256> table = gamma_table(options.gamma);
  std::array<float, 256> scaled{};
  for (std::size_t i = 0; i < table.size(); ++i) scaled[i] = static_cast<float>(table[i]) / 255.0f;

  CropResult crop = crop_image(rgb, options.crop);
  cv::Mat small;
  cv::resize(crop.region, small, cv::Size(side, side), 0.0, 0.0, cv::INTER_AREA);
  if (seen_rgb8 != nullptr) seen_rgb8->create(side, side, CV_8UC3);

  float* red = chw_out.data();
  float* green = red + plane;
  float* blue = green + plane;
  for (int y = 0; y < side; ++y) {
    const auto* in = small.ptr<std::uint8_t>(y);
    std::uint8_t* seen = seen_rgb8 != nullptr ? seen_rgb8->ptr<std::uint8_t>(y) : nullptr;
    const std::size_t row = static_cast<std::size_t>(y) * static_cast<std::size_t>(side);
    for (int x = 0; x < side; ++x, in += 3) {
      const std::size_t at = row + static_cast<std::size_t>(x);
      red[at] = scaled[in[0]];
      green[at] = scaled[in[1]];
      blue[at] = scaled[in[2]];
      if (seen != nullptr) {
        seen[0] = table[in[0]];
        seen[1] = table[in[1]];
        seen[2] = table[in[2]];
        seen += 3;
      }
    }
  }
  return crop;
}

Preprocessed preprocess(const cv::Mat& rgb, const PreprocessOptions& options) {
  check_options(options);
  Preprocessed out;
  out.chw.resize(3 * static_cast<std::size_t>(options.image_side_px) *
                 static_cast<std::size_t>(options.image_side_px));
  const CropResult crop = preprocess_into(rgb, options, out.chw, &out.seen_rgb8);
  out.object_box = crop.object_box;
  out.crop_box = crop.crop_box;
  return out;
}

int decode_min_side_px(const PreprocessOptions& options) {
  switch (options.crop.mode) {
    case CropMode::kObject:
      return options.image_side_px * kObjectDecodeHeadroom;
    case CropMode::kFixedWindow:
      return 0;
    case CropMode::kNone:
      return options.image_side_px * kWholeDecodeHeadroom;
  }
  return 0;
}

Preprocessed load_and_preprocess(const std::filesystem::path& path, const PreprocessOptions& options,
                                 const DecodeLimits& limits) {
  return preprocess(read_image(path, limits, decode_min_side_px(options)), options);
}

}  // namespace mystyle::image
