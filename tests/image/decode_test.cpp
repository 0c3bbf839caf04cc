// Decoding with limits: real MANGO files against OpenCV's own reader, synthetic PNG/BMP/JPEG
// fixtures built at run time, and the refusals (truncated, not an image, bombs, too many bytes).
#include "mystyle/image/decode.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "image/image_fixtures.h"
#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle::image {
namespace {

using testing::ByteVector;

constexpr const char* kMangoFiles[] = {"2019_41005828_05.jpg", "2023_57050228_20.jpg",
                                       "2019_53043738_79.jpg"};

// Runs `body`, expecting a mystyle::Error of `kind` whose message contains every one of `parts`.
template <typename Body>
void expect_error(Body&& body, ErrorKind kind, std::initializer_list<std::string> parts) {
  try {
    body();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

cv::Mat bgr_to_rgb(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

TEST(DecodeImage, MangoFilesMatchOpenCvReader) {
  MYSTYLE_REQUIRE_DATASET(dir, "mango/images");
  for (const char* file : kMangoFiles) {
    const cv::Mat rgb = read_image(dir / file);
    ASSERT_EQ(rgb.type(), CV_8UC3) << file;
    EXPECT_EQ(rgb.cols, 239) << file;
    EXPECT_EQ(rgb.rows, 334) << file;
    EXPECT_TRUE(same_pixels(rgb, bgr_to_rgb(cv::imread((dir / file).string(), cv::IMREAD_COLOR)))) << file;
    const ByteVector bytes = testing::read_bytes(dir / file);
    const ImageInfo info = probe_image(bytes, file);
    EXPECT_EQ(info.format, "jpeg");
    EXPECT_EQ(info.width, 239);
    EXPECT_EQ(info.height, 334);
    EXPECT_TRUE(info.complete);
  }
}

TEST(ProbeImage, ReadsSizesOfEveryFormat) {
  const cv::Mat bgr(30, 50, CV_8UC3, cv::Scalar(10, 20, 30));
  for (const char* ext : {".png", ".bmp", ".jpg"}) {
    const ImageInfo info = probe_image(testing::encode(bgr, ext), ext);
    EXPECT_EQ(info.width, 50) << ext;
    EXPECT_EQ(info.height, 30) << ext;
  }
  if (cv::haveImageWriter(".webp")) {
    for (int quality : {80, 101}) {  // lossy (VP8) and lossless (VP8L)
      const ImageInfo info =
          probe_image(testing::encode(bgr, ".webp", {cv::IMWRITE_WEBP_QUALITY, quality}), "x.webp");
      EXPECT_EQ(info.format, "webp");
      EXPECT_EQ(info.width, 50) << quality;
      EXPECT_EQ(info.height, 30) << quality;
    }
  }
  const ByteVector gif = {'G', 'I', 'F', '8', '9', 'a', 0x2C, 0x01, 0xC8, 0x00, 0xF7, 0x00, 0x00};
  const ImageInfo info = probe_image(gif, "x.gif");
  EXPECT_EQ(info.format, "gif");
  EXPECT_EQ(info.width, 300);
  EXPECT_EQ(info.height, 200);
}

TEST(DecodeImage, GrayscalePngBecomesRgb) {
  cv::Mat gray(4, 6, CV_8UC1);
  for (int i = 0; i < 24; ++i) gray.data[i] = static_cast<std::uint8_t>(i * 10);
  const cv::Mat rgb = decode_image(testing::encode(gray, ".png"), "gray.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 6; ++x) {
      const auto v = static_cast<std::uint8_t>((y * 6 + x) * 10);
      EXPECT_EQ(rgb.at<cv::Vec3b>(y, x), cv::Vec3b(v, v, v));
    }
  }
}

TEST(DecodeImage, AlphaIsCompositedOverWhite) {
  cv::Mat bgra(1, 4, CV_8UC4);
  const int alphas[] = {0, 64, 128, 255};
  for (int x = 0; x < 4; ++x)
    bgra.at<cv::Vec4b>(0, x) = cv::Vec4b(0, 100, 200, static_cast<std::uint8_t>(alphas[x]));
  const cv::Mat rgb = decode_image(testing::encode(bgra, ".png"), "rgba.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  for (int x = 0; x < 4; ++x) {
    const double a = alphas[x] / 255.0;
    auto over_white = [a](double c) {
      return static_cast<std::uint8_t>(std::lround(c * a + 255.0 * (1.0 - a)));
    };
    EXPECT_EQ(rgb.at<cv::Vec3b>(0, x), cv::Vec3b(over_white(200), over_white(100), over_white(0)))
        << "alpha " << alphas[x];
  }
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 3), cv::Vec3b(200, 100, 0));
}

TEST(DecodeImage, SixteenBitPngIsScaledToEightBits) {
  cv::Mat bgr16(1, 3, CV_16UC3);
  bgr16.at<cv::Vec<std::uint16_t, 3>>(0, 0) = {65535, 0, 257 * 100};  // B, G, R
  bgr16.at<cv::Vec<std::uint16_t, 3>>(0, 1) = {1000, 32896, 65000};   // 3.9, 128, 252.9 in 8 bits
  bgr16.at<cv::Vec<std::uint16_t, 3>>(0, 2) = {128, 129, 385};        // 0.498, 0.502, 1.498
  const cv::Mat rgb = decode_image(testing::encode(bgr16, ".png"), "deep.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(100, 0, 255));
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(253, 128, 4));
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 2), cv::Vec3b(1, 1, 0));

  cv::Mat gray16(1, 2, CV_16UC1);
  gray16.at<std::uint16_t>(0, 0) = 65535;
  gray16.at<std::uint16_t>(0, 1) = 257 * 7;
  const cv::Mat gray_rgb = decode_image(testing::encode(gray16, ".png"), "deep-gray.png");
  EXPECT_EQ(gray_rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(gray_rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(7, 7, 7));
}

TEST(DecodeImage, BmpDecodes) {
  cv::Mat bgr(3, 5, CV_8UC3, cv::Scalar(1, 2, 3));
  const cv::Mat rgb = decode_image(testing::encode(bgr, ".bmp"), "x.bmp");
  EXPECT_EQ(rgb.at<cv::Vec3b>(2, 4), cv::Vec3b(3, 2, 1));
}

// A stored 80x40 image with a red block at its top-left; EXIF 6 means "rotate 90 degrees clockwise
// to display", which takes the stored top-left corner to the top-right.
cv::Mat marker_image(int width, int height) {
  cv::Mat bgr(height, width, CV_8UC3, cv::Scalar(235, 235, 235));
  cv::rectangle(bgr, cv::Rect(0, 0, width / 8, height / 8), cv::Scalar(0, 0, 255), cv::FILLED);
  return bgr;
}

bool is_red(const cv::Vec3b& rgb) {
  return rgb[0] > 200 && rgb[1] < 60 && rgb[2] < 60;
}

TEST(DecodeImage, ExifOrientationSixRotatesClockwise) {
  const ByteVector jpeg = testing::with_exif_orientation(testing::encode(marker_image(80, 40), ".jpg"), 6);
  EXPECT_EQ(probe_image(jpeg, "rotated.jpg").exif_orientation, 6);
  const cv::Mat rgb = decode_image(jpeg, "rotated.jpg");
  ASSERT_EQ(rgb.cols, 40);
  ASSERT_EQ(rgb.rows, 80);
  EXPECT_TRUE(is_red(rgb.at<cv::Vec3b>(/*y=*/3, /*x=*/37)));  // top-right
  EXPECT_FALSE(is_red(rgb.at<cv::Vec3b>(3, 2)));
  EXPECT_FALSE(is_red(rgb.at<cv::Vec3b>(76, 37)));
}

// OpenCV's imread applies EXIF orientation itself when reading a file: an independent reference.
TEST(DecodeImage, AllEightOrientationsMatchOpenCvReader) {
  testing::TempDir tmp;
  const ByteVector plain = testing::encode(marker_image(80, 40), ".jpg");
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const auto path = testing::write_bytes(tmp / fmt::format("o{}.jpg", orientation),
                                           testing::with_exif_orientation(plain, orientation));
    const cv::Mat ours = read_image(path);
    const cv::Mat reference = bgr_to_rgb(cv::imread(path.string(), cv::IMREAD_COLOR));
    EXPECT_TRUE(same_pixels(ours, reference)) << "orientation " << orientation;
    EXPECT_EQ(ours.cols, orientation >= 5 ? 40 : 80) << "orientation " << orientation;
  }
}

// libjpeg's reduced (DCT-scaled) decode must still get the orientation applied.
TEST(DecodeImage, ReducedJpegDecodeKeepsOrientation) {
  const ByteVector jpeg = testing::with_exif_orientation(testing::encode(marker_image(800, 400), ".jpg"), 6);
  const cv::Mat reduced = decode_image(jpeg, "big.jpg", {}, /*min_side_px=*/50);
  ASSERT_EQ(reduced.cols, 50);  // 1/8 of 400, rotated
  ASSERT_EQ(reduced.rows, 100);
  EXPECT_TRUE(is_red(reduced.at<cv::Vec3b>(2, 47)));
  EXPECT_FALSE(is_red(reduced.at<cv::Vec3b>(2, 2)));
  const cv::Mat half = decode_image(jpeg, "big.jpg", {}, /*min_side_px=*/101);
  EXPECT_EQ(half.cols, 200);  // 1/8 would give 50 < 101, 1/4 gives 100 < 101: 1/2
  const cv::Mat full = decode_image(jpeg, "big.jpg", {}, /*min_side_px=*/0);
  EXPECT_EQ(full.cols, 400);
}

// JPEG goes straight to libjpeg-turbo (not through OpenCV): every variant must give OpenCV's
// pixels exactly, at every DCT reduction: baseline and progressive colour, grayscale, odd sizes.
TEST(DecodeImage, DirectJpegMatchesOpenCvAtEveryReduction) {
  cv::Mat colour = marker_image(333, 217);
  cv::randu(colour(cv::Rect(100, 50, 120, 90)), cv::Scalar::all(0), cv::Scalar::all(255));
  cv::Mat grey;
  cv::cvtColor(colour, grey, cv::COLOR_BGR2GRAY);
  const std::vector<std::pair<std::string, ByteVector>> cases = {
      {"baseline", testing::encode(colour, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90})},
      {"progressive", testing::encode(colour, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
      {"high quality", testing::encode(colour, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 100})},
      {"grayscale", testing::encode(grey, ".jpg")}};
  const std::pair<int, int> reductions[] = {{0, cv::IMREAD_COLOR},
                                            {100, cv::IMREAD_REDUCED_COLOR_2},
                                            {50, cv::IMREAD_REDUCED_COLOR_4},
                                            {27, cv::IMREAD_REDUCED_COLOR_8}};
  for (const auto& [label, bytes] : cases) {
    for (const auto& [min_side, flag] : reductions) {
      const cv::Mat ours = decode_image(bytes, label, {}, min_side);
      const cv::Mat reference =
          bgr_to_rgb(cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1,
                                          const_cast<std::uint8_t*>(bytes.data())),
                                  flag | cv::IMREAD_IGNORE_ORIENTATION));
      EXPECT_TRUE(same_pixels(ours, reference)) << label << " at min side " << min_side;
    }
  }
}

// Damaged entropy-coded data with intact markers: libjpeg's error becomes a clear error naming
// the upload, never a crash or a longjmp through C++ frames.
TEST(DecodeImage, CorruptJpegScanIsRefused) {
  ByteVector bytes = testing::encode(marker_image(64, 64), ".jpg");
  // Find the start-of-scan marker and break the Huffman table selector of its component.
  std::size_t sos = 0;
  for (std::size_t i = 2; i + 1 < bytes.size(); ++i) {
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xDA) {
      sos = i;
      break;
    }
  }
  ASSERT_GT(sos, 0u);
  bytes[sos + 6] = 0xFF;  // table selectors 15/15: undefined Huffman tables
  expect_error([&] { decode_image(bytes, "broken.jpg"); }, ErrorKind::kInvalidInput, {"broken.jpg", "jpeg"});
}

TEST(DecodeImage, TruncatedJpegIsRefused) {
  MYSTYLE_REQUIRE_DATASET(dir, "mango/images");
  ByteVector bytes = testing::read_bytes(dir / kMangoFiles[0]);
  bytes.resize(bytes.size() / 2);
  expect_error([&] { decode_image(bytes, "half.jpg"); }, ErrorKind::kInvalidInput, {"half.jpg", "truncated"});
  bytes.resize(100);  // cut inside the headers
  expect_error([&] { decode_image(bytes, "head.jpg"); }, ErrorKind::kInvalidInput, {"head.jpg", "truncated"});
}

TEST(ReadImage, TextFileNamedJpgIsRefused) {
  testing::TempDir tmp;
  const auto path = testing::write_file(tmp / "notes.jpg", "Hello, this is not a picture.\n");
  expect_error([&] { read_image(path); }, ErrorKind::kUnsupported,
               {"notes.jpg", "not a recognised image format"});
}

TEST(ReadImage, EmptyAndMissingFilesAreRefused) {
  testing::TempDir tmp;
  const auto empty = testing::write_file(tmp / "empty.jpg", "");
  expect_error([&] { read_image(empty); }, ErrorKind::kInvalidInput, {"empty.jpg", "empty"});
  expect_error([&] { read_image(tmp / "absent.jpg"); }, ErrorKind::kNotFound, {"absent.jpg", "not found"});
}

// A decompression bomb: 30000 x 30000 declared in a few dozen bytes, refused from the header.
TEST(DecodeImage, HugeDeclaredPngIsRefusedFromHeader) {
  const ByteVector png = testing::png_header_only(30000, 30000);
  const ImageInfo info = probe_image(png, "bomb.png");
  EXPECT_EQ(info.width, 30000);
  EXPECT_EQ(info.height, 30000);
  expect_error([&] { decode_image(png, "bomb.png"); }, ErrorKind::kTooLarge,
               {"bomb.png", "30000x30000", "limit"});
  // Under the limit the same bytes reach the decoder, which finds no pixel data.
  const ByteVector small = testing::png_header_only(20, 20);
  expect_error([&] { decode_image(small, "stub.png"); }, ErrorKind::kInvalidInput, {"stub.png"});
}

TEST(DecodeImage, PixelLimitIsInclusive) {
  MYSTYLE_REQUIRE_DATASET(dir, "mango/images");
  const ByteVector bytes = testing::read_bytes(dir / kMangoFiles[0]);
  DecodeLimits limits;
  limits.max_pixels = 239 * 334;
  EXPECT_EQ(decode_image(bytes, "ok.jpg", limits).cols, 239);
  limits.max_pixels = 239 * 334 - 1;
  expect_error([&] { decode_image(bytes, "big.jpg", limits); }, ErrorKind::kTooLarge, {"big.jpg", "239x334"});
}

TEST(DecodeImage, TooManyBytesAreRefused) {
  MYSTYLE_REQUIRE_DATASET(dir, "mango/images");
  DecodeLimits limits;
  limits.max_bytes = 1000;
  const auto path = dir / kMangoFiles[0];
  expect_error([&] { read_image(path, limits); }, ErrorKind::kTooLarge, {kMangoFiles[0], "bytes", "1000"});
  expect_error([&] { decode_image(testing::read_bytes(path), "upload", limits); }, ErrorKind::kTooLarge,
               {"upload"});
}

TEST(DecodeImage, CorruptPngDataIsRefused) {
  ByteVector png = testing::encode(marker_image(64, 64), ".png");
  for (std::size_t i = 60; i < png.size() - 20; ++i) png[i] ^= 0x5A;  // scramble IDAT, keep IHDR
  expect_error([&] { decode_image(png, "scrambled.png"); }, ErrorKind::kInvalidInput, {"scrambled.png"});
}

}  // namespace
}  // namespace mystyle::image
