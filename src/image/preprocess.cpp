#include "mystyle/image/preprocess.h"

#include <algorithm>
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
  if (options.background_reference < 0 || options.background_reference > 255) {
    throw Error("preprocess: background_reference must be in 0..255, got " +
                    std::to_string(options.background_reference),
                ErrorKind::kInvalidInput);
  }
}

/// Per channel: input byte -> output byte (normalisation then gamma), and the same as a float / 255.
struct ChannelTables {
  std::array<std::array<std::uint8_t, 256>, 3> bytes;
  std::array<std::array<float, 256>, 3> scaled;
};

constexpr int kDarkBackground = 48;
constexpr double kMinScale = 0.5, kMaxScale = 3.0;

ChannelTables channel_tables(const cv::Mat& rgb, const PreprocessOptions& options);

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

namespace {

ChannelTables channel_tables(const cv::Mat& rgb, const PreprocessOptions& options) {
  const std::array<std::uint8_t, 256> gamma = gamma_table(options.gamma);
  std::array<double, 3> scale = {1.0, 1.0, 1.0};
  if (options.normalise_background) {
    const cv::Vec3b background = estimate_background(rgb);
    if (std::max({background[0], background[1], background[2]}) >= kDarkBackground) {
      for (int c = 0; c < 3; ++c) {
        scale[c] = std::clamp(options.background_reference / std::max(1.0, static_cast<double>(background[c])), kMinScale, kMaxScale);
      }
    }
  }
  ChannelTables t{};
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      const auto normalised = static_cast<int>(std::clamp(std::lround(v * scale[c]), 0L, 255L));
      t.bytes[c][v] = gamma[static_cast<std::size_t>(normalised)];
      t.scaled[c][v] = static_cast<float>(t.bytes[c][v]) / 255.0f;
    }
  }
  return t;
}

}  // namespace

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
  BackgroundResult background;
  background.rgb = rgb;
  if (options.paint_out_busy_background && options.crop.mode == CropMode::kObject) {
    background = paint_out_background(rgb, options.background, options.crop.edge_threshold);
  }
  const cv::Mat& source = background.rgb;
  CropResult crop = crop_image(source, options.crop);
  crop.background_painted = background.painted;
  const ChannelTables tables = channel_tables(source, options);
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
      red[at] = tables.scaled[0][in[0]];
      green[at] = tables.scaled[1][in[1]];
      blue[at] = tables.scaled[2][in[2]];
      if (seen != nullptr) {
        seen[0] = tables.bytes[0][in[0]];
        seen[1] = tables.bytes[1][in[1]];
        seen[2] = tables.bytes[2][in[2]];
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
  out.background_painted = crop.background_painted;
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

cv::Mat rgb8_from_chw(std::span<const float> chw, int side_px) {
  const auto plane = static_cast<std::size_t>(side_px) * static_cast<std::size_t>(side_px);
  if (side_px <= 0 || chw.size() != 3 * plane) {
    throw Error("rgb8_from_chw: " + std::to_string(chw.size()) + " floats for a " + std::to_string(side_px) +
                    " px square of 3 channels",
                ErrorKind::kInvalidInput);
  }
  cv::Mat rgb(side_px, side_px, CV_8UC3);
  for (int y = 0; y < side_px; ++y) {
    auto* row = rgb.ptr<cv::Vec3b>(y);
    for (int x = 0; x < side_px; ++x) {
      const std::size_t at = static_cast<std::size_t>(y) * static_cast<std::size_t>(side_px) + static_cast<std::size_t>(x);
      for (int c = 0; c < 3; ++c) row[x][c] = cv::saturate_cast<std::uint8_t>(chw[static_cast<std::size_t>(c) * plane + at] * 255.0f);
    }
  }
  return rgb;
}

}  // namespace mystyle::image
