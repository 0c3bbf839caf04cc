#include "mystyle/nn/image_set.h"

#include <algorithm>
#include <string>

#include "mystyle/core/error.h"

namespace mystyle::nn {
namespace {

void check_size(std::size_t got, int count, int channels, int side_px, const char* what) {
  if (count < 0 || channels < 1 || side_px < 1 ||
      got != static_cast<std::size_t>(count) * channels * side_px * side_px) {
    throw Error(std::string("image set of ") + what + ": " + std::to_string(got) + " values do not make " +
                std::to_string(count) + " images of " + std::to_string(channels) + "x" +
                std::to_string(side_px) + "x" + std::to_string(side_px));
  }
}

}  // namespace

ImageSet ImageSet::from_floats(std::span<const float> pixels, int count, int channels, int side_px) {
  check_size(pixels.size(), count, channels, side_px, "floats");
  ImageSet set(count, channels, side_px);
  set.floats_ = pixels;
  return set;
}

ImageSet ImageSet::from_bytes(std::span<const std::uint8_t> pixels, int count, int channels, int side_px,
                              PixelOrder order) {
  check_size(pixels.size(), count, channels, side_px, "bytes");
  ImageSet set(count, channels, side_px);
  set.bytes_ = pixels;
  set.order_ = order;
  return set;
}

void ImageSet::gather(std::span<const std::uint32_t> indices, std::span<float> out) const {
  const auto per_image = static_cast<std::size_t>(image_floats());
  if (out.size() != indices.size() * per_image)
    throw Error("ImageSet::gather: output buffer has the wrong size");
  const std::size_t plane = static_cast<std::size_t>(side_) * side_;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::uint32_t i = indices[k];
    if (i >= static_cast<std::uint32_t>(count_)) {
      throw Error("ImageSet::gather: index " + std::to_string(i) + " out of range (" +
                  std::to_string(count_) + " images)");
    }
    float* dst = out.data() + k * per_image;
    if (!floats_.empty()) {
      std::copy_n(floats_.data() + i * per_image, per_image, dst);
      continue;
    }
    const std::uint8_t* src = bytes_.data() + i * per_image;
    // Division, not multiplication by 1/255: the same rounding as image::preprocess, so a cached
    // byte gives the very float the serving path computes.
    constexpr float kScale = 255.0f;
    if (order_ == PixelOrder::kChw) {
      for (std::size_t j = 0; j < per_image; ++j) dst[j] = static_cast<float>(src[j]) / kScale;
    } else {
      for (std::size_t p = 0; p < plane; ++p) {
        for (int c = 0; c < channels_; ++c)
          dst[c * plane + p] = static_cast<float>(src[p * channels_ + c]) / kScale;
      }
    }
  }
}

}  // namespace mystyle::nn
