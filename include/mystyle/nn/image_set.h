#pragma once
/// A read-only view of N square images that training and encoding gather batches from: either
/// float NCHW in [0, 1], or 8-bit pixels (e.g. a memory-mapped cache) converted on the fly by /255.
/// The view does not own the pixels; they must outlive it. Thread-safe (const).
#include <cstdint>
#include <span>

namespace mystyle::nn {

/// Pixel order of an 8-bit image set.
enum class PixelOrder {
  kChw,  ///< planes: all of channel 0, then channel 1, ... (NCHW)
  kHwc,  ///< interleaved: pixel by pixel, channels together (OpenCV's order, after BGR->RGB)
};

class ImageSet {
 public:
  /// `pixels`: count * channels * side * side floats, NCHW.
  static ImageSet from_floats(std::span<const float> pixels, int count, int channels, int side_px);
  /// `pixels`: count * channels * side * side bytes in `order`; values become byte / 255.
  static ImageSet from_bytes(std::span<const std::uint8_t> pixels, int count, int channels, int side_px,
                             PixelOrder order);

  int count() const { return count_; }
  int channels() const { return channels_; }
  int side_px() const { return side_; }
  std::int64_t image_floats() const { return std::int64_t{channels_} * side_ * side_; }

  /// Copies the images at `indices` into `out` ([indices.size(), C, S, S] NCHW floats).
  /// Throws mystyle::Error (kInvalidInput) for an index >= count() or a wrongly sized `out`.
  void gather(std::span<const std::uint32_t> indices, std::span<float> out) const;

 private:
  ImageSet(int count, int channels, int side_px) : count_(count), channels_(channels), side_(side_px) {}
  std::span<const float> floats_;
  std::span<const std::uint8_t> bytes_;
  PixelOrder order_ = PixelOrder::kChw;
  int count_, channels_, side_;
};

}  // namespace mystyle::nn
