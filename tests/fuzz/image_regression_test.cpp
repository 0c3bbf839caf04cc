// What fuzzing found in the image pipeline (docs/reliability.md, "Fuzzing").
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "fuzz/fuzz_inputs.h"
#include "mystyle/image/crop.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/preprocess.h"

namespace mystyle::fuzz_regression {
namespace {

// A 357-byte progressive JPEG of 32,784 x 20 pixels (under every pixel limit): its object square,
// padded at full size, was 36,000 pixels a side, 3.9 GB. It must now preprocess in bounded memory.
TEST(ImageRegression, LongThinPhotoPreprocessesWithoutAGiantPaddedCopy) {
  const std::string bytes = fuzz_input("image_long_thin.jpg");
  const std::span<const std::uint8_t> data(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  // As fuzz/image_fuzzer decoded it: its limits, and min_side_px 64 (chosen by the input's last byte).
  const cv::Mat rgb = image::decode_image(data, "fuzz", {std::size_t{1} << 20, 1 << 20}, 64);
  ASSERT_EQ(rgb.size(), cv::Size(32784, 20));
  const image::CropResult crop = image::crop_image(rgb, {});
  EXPECT_EQ(crop.region.size(), cv::Size(4096, 4096));
  EXPECT_GT(crop.crop_box.width, 30000);  // still the square around the object, in source pixels
  image::PreprocessOptions options;
  options.image_side_px = 32;
  const image::Preprocessed out = image::preprocess(rgb, options);
  EXPECT_EQ(out.chw.size(), 3u * 32u * 32u);
}

// The reduced square holds the image where the full-size one would, shrunk; ordinary photos, even
// 16:9 ones whose square is padded well past the image, keep the exact full-size copy.
TEST(ImageRegression, OnlyExtremeShapesTakeTheReducedSquare) {
  cv::Mat wide(30, 6000, CV_8UC3, cv::Scalar(240, 240, 240));
  cv::rectangle(wide, cv::Rect(100, 5, 5800, 20), cv::Scalar(200, 30, 40), cv::FILLED);
  const image::CropResult reduced = image::crop_image(wide, {});
  ASSERT_EQ(reduced.region.size(), cv::Size(4096, 4096));
  const double scale = 4096.0 / reduced.crop_box.width;
  const int mid_y = static_cast<int>((15 - reduced.crop_box.y) * scale);
  EXPECT_EQ(reduced.region.at<cv::Vec3b>(mid_y, 2048), cv::Vec3b(200, 30, 40));  // the object, centred
  EXPECT_EQ(reduced.region.at<cv::Vec3b>(100, 2048), cv::Vec3b(240, 240, 240));   // padding above it

  cv::Mat photo(1080, 1920, CV_8UC3, cv::Scalar(240, 240, 240));
  cv::rectangle(photo, cv::Rect(40, 300, 1840, 500), cv::Scalar(30, 60, 160), cv::FILLED);
  const image::CropResult exact = image::crop_image(photo, {});
  EXPECT_EQ(exact.region.size(), cv::Size(exact.crop_box.width, exact.crop_box.height));
  EXPECT_GT(exact.crop_box.width, 1920);  // padded past the image, at full size
}

}  // namespace
}  // namespace mystyle::fuzz_regression
