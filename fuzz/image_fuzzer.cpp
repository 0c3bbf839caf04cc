// Fuzzes the image pipeline an upload goes through: probe_image (header only), decode_image with
// tight limits (so bombs must be refused from the header), then preprocess on what decodes, in
// each crop mode. The decoded image must be what the header promised (size after orientation, or
// the reduced size of a JPEG decode), never over the pixel limit.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_support.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/image/probe.h"

using namespace mystyle;

namespace {

// Tight on purpose: a photo this small still exercises every decoder, and a header that promises
// more must be refused before any pixel is allocated.
constexpr image::DecodeLimits kLimits{/*max_bytes=*/std::size_t{1} << 20, /*max_pixels=*/1 << 20};

void run(std::span<const std::uint8_t> bytes) {
  image::ImageInfo info;
  bool probed = false;
  fuzz::expect_only_mystyle_errors([&] {
    info = image::probe_image(bytes, "fuzz");
    probed = true;
  });
  if (probed) {
    fuzz::check(info.width > 0 && info.height > 0, "probe_image returned a non-positive size");
    fuzz::check(info.exif_orientation >= 1 && info.exif_orientation <= 8, "EXIF orientation outside 1..8");
  }

  // The last input byte picks the reduced-decode request, as the server's (0) and the encoder's
  // (64 or 128, decode_min_side_px) callers pass it.
  const int min_side_choices[] = {0, 64, 128, 1};
  const int min_side_px = bytes.empty() ? 0 : min_side_choices[bytes.back() % 4];
  cv::Mat rgb;
  fuzz::expect_only_mystyle_errors([&] { rgb = image::decode_image(bytes, "fuzz", kLimits, min_side_px); });
  if (rgb.empty()) return;
  fuzz::check(probed, "decode_image decoded an image that probe_image refused");
  fuzz::check(rgb.type() == CV_8UC3, "decode_image returned something other than CV_8UC3");
  fuzz::check(static_cast<std::uint64_t>(rgb.total()) <= kLimits.max_pixels,
              "decode_image returned more pixels than the limit");
  if (min_side_px == 0) {
    fuzz::check(rgb.cols == info.display_width() && rgb.rows == info.display_height(),
                "decoded size differs from the header's");
  } else {
    fuzz::check(rgb.cols <= info.display_width() && rgb.rows <= info.display_height(),
                "reduced decode is larger than the header's size");
  }

  for (const image::CropMode mode : {image::CropMode::kObject, image::CropMode::kFixedWindow, image::CropMode::kNone}) {
    image::PreprocessOptions options;
    options.image_side_px = 32;
    options.crop.mode = mode;
    fuzz::expect_only_mystyle_errors([&] {
      const image::Preprocessed out = image::preprocess(rgb, options);
      fuzz::check(out.chw.size() == 3u * 32u * 32u, "preprocess returned the wrong number of floats");
      for (const float v : out.chw) fuzz::check(v >= 0.0f && v <= 1.0f, "preprocess value outside [0, 1]");
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run({data, size});
  return 0;
}
