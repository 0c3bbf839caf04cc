// Cropping and preprocessing: exact boxes on synthetic scenes, boxes on real MANGO photos checked
// against values computed independently (plain Python over a raw dump, and a straightforward loop
// here), and CHW values checked against a hand computation of area resize + the gamma formula.
#include "mystyle/image/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle::image {
namespace {

const cv::Vec3b kBackground(230, 228, 220);

cv::Mat plain(int width, int height) {
  return cv::Mat(height, width, CV_8UC3, cv::Scalar(230, 228, 220));
}

void fill(cv::Mat& rgb, const CropBox& box, const cv::Scalar& colour) {
  cv::rectangle(rgb, cv::Rect(box.x, box.y, box.width, box.height), colour, cv::FILLED);
}

// The prototype's table, written out from pyimagesearch's adjust_gamma.
std::uint8_t gamma_formula(int value, double gamma) {
  return static_cast<std::uint8_t>(std::floor(std::pow(value / 255.0, 1.0 / gamma) * 255.0));
}

// The 8-bit image of floats made as the image cache makes them (byte / 255) is exactly the bytes; of a
// Preprocessed's floats, what the model saw to within a level.
TEST(Rgb8FromChw, GivesBackWhatTheModelSaw) {
  cv::Mat rgb(120, 90, CV_8UC3, cv::Scalar(236, 236, 236));
  cv::circle(rgb, {45, 60}, 30, cv::Scalar(200, 40, 90), cv::FILLED);
  PreprocessOptions o;
  o.image_side_px = 48;
  const Preprocessed p = preprocess(rgb, o);
  const cv::Mat back = rgb8_from_chw(p.chw, 48);
  ASSERT_EQ(back.type(), CV_8UC3);
  EXPECT_LE(cv::norm(back, p.seen_rgb8, cv::NORM_INF), 1.0);
  std::vector<float> cached(p.chw.size());
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 48; ++x) {
      for (int c = 0; c < 3; ++c) cached[static_cast<std::size_t>((c * 48 + y) * 48 + x)] = p.seen_rgb8.at<cv::Vec3b>(y, x)[c] / 255.0f;
    }
  }
  EXPECT_EQ(cv::norm(rgb8_from_chw(cached, 48), p.seen_rgb8, cv::NORM_INF), 0.0);
  EXPECT_THROW(rgb8_from_chw(p.chw, 47), Error);
}

TEST(GammaTable, MatchesPrototypeValues) {
  const auto table = gamma_table(0.8);
  // int(((i / 255.0) ** (1 / 0.8)) * 255) in Python 3.
  const std::pair<int, int> expected[] = {{0, 0},     {1, 0},     {25, 13},   {64, 45},
                                          {128, 107}, {200, 188}, {254, 253}, {255, 255}};
  for (auto [in, out] : expected) EXPECT_EQ(table[static_cast<std::size_t>(in)], out) << in;
  const auto identity = gamma_table(1.0);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(identity[static_cast<std::size_t>(i)], i);
  EXPECT_THROW(gamma_table(0.0), Error);
}

TEST(FindObjectBox, RectangleOnPlainBackgroundGivesExactBox) {
  cv::Mat rgb = plain(200, 150);
  const CropBox rect{40, 30, 60, 80};
  fill(rgb, rect, cv::Scalar(200, 30, 40));
  EXPECT_EQ(find_object_box(rgb, {}), rect);
  EXPECT_EQ(estimate_background(rgb), kBackground);
}

TEST(FindObjectBox, IgnoresIsolatedSpecksAndSmoothGradients) {
  cv::Mat rgb(150, 200, CV_8UC3);
  for (int y = 0; y < rgb.rows; ++y) {  // a 60-level vertical gradient, like a studio backdrop
    for (int x = 0; x < rgb.cols; ++x)
      rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>(240 - y * 60 / 150), 235, 230);
  }
  const CropBox rect{70, 50, 30, 40};
  fill(rgb, rect, cv::Scalar(20, 20, 20));
  rgb.at<cv::Vec3b>(10, 10) = cv::Vec3b(0, 0, 0);  // dust
  rgb.at<cv::Vec3b>(140, 190) = cv::Vec3b(0, 0, 0);
  EXPECT_EQ(find_object_box(rgb, {}), rect);
}

TEST(FindObjectBox, BlankImageGivesWholeImage) {
  EXPECT_EQ(find_object_box(plain(50, 40), {}), (CropBox{0, 0, 50, 40}));
}

TEST(CropImage, ObjectSquareIsCentredAndPaddedWithBackground) {
  cv::Mat rgb = plain(200, 150);
  const CropBox rect{2, 30, 40, 80};  // near the left edge: the square must reach past it
  fill(rgb, rect, cv::Scalar(200, 30, 40));
  CropOptions options;
  options.margin_frac = 0.1;
  const CropResult crop = crop_image(rgb, options);
  EXPECT_EQ(crop.object_box, rect);
  // side 80 + 2 * 8 = 96, centred on the box: x 2 - (96 - 40) / 2 = -26, y 30 - 8 = 22.
  EXPECT_EQ(crop.crop_box, (CropBox{-26, 22, 96, 96}));
  ASSERT_EQ(crop.region.size(), cv::Size(96, 96));
  EXPECT_EQ(crop.region.at<cv::Vec3b>(50, 0), kBackground);              // padding
  EXPECT_EQ(crop.region.at<cv::Vec3b>(50, 30), cv::Vec3b(200, 30, 40));  // source x 4
}

TEST(CropImage, FixedWindowIsThePrototypesAndClamped) {
  CropOptions options;
  options.mode = CropMode::kFixedWindow;
  EXPECT_EQ(crop_image(plain(720, 1280), options).crop_box, (CropBox{40, 250, 640, 750}));
  const CropResult clamped = crop_image(plain(300, 400), options);
  EXPECT_EQ(clamped.crop_box, (CropBox{40, 250, 260, 150}));
  EXPECT_EQ(clamped.region.size(), cv::Size(260, 150));
  EXPECT_THROW(crop_image(plain(30, 30), options), Error);
  options.mode = CropMode::kNone;
  EXPECT_EQ(crop_image(plain(30, 20), options).crop_box, (CropBox{0, 0, 30, 20}));
}

// 128x128 -> 64x64 is an exact 2x2 average under INTER_AREA; the values are chosen so that each
// average is an integer: R = x + y gives 2(X + Y) + 1, G = 2y gives 4Y + 1, B = 100.
TEST(Preprocess, ChwValuesMatchHandComputation) {
  cv::Mat rgb(128, 128, CV_8UC3);
  for (int y = 0; y < 128; ++y) {
    for (int x = 0; x < 128; ++x)
      rgb.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<std::uint8_t>(x + y), static_cast<std::uint8_t>(2 * y), 100);
  }
  PreprocessOptions options;
  options.normalise_background = false;  // the expected values are gamma only
  options.crop.mode = CropMode::kNone;
  const Preprocessed out = preprocess(rgb, options);
  ASSERT_EQ(out.chw.size(), 3u * 64 * 64);
  ASSERT_EQ(out.seen_rgb8.size(), cv::Size(64, 64));
  const std::pair<int, int> probes[] = {{0, 0}, {5, 17}, {63, 63}, {31, 2}, {40, 60}};
  for (auto [y, x] : probes) {
    const int means[3] = {2 * (x + y) + 1, 4 * y + 1, 100};
    for (int c = 0; c < 3; ++c) {
      const std::uint8_t seen = gamma_formula(means[c], 0.8);
      EXPECT_FLOAT_EQ(out.chw[static_cast<std::size_t>((c * 64 + y) * 64 + x)], seen / 255.0f)
          << c << " " << y << " " << x;
      EXPECT_EQ(out.seen_rgb8.at<cv::Vec3b>(y, x)[c], seen);
    }
  }
  EXPECT_FLOAT_EQ(out.chw[0], 0.0f);  // R mean 1 -> 0 after gamma
  EXPECT_FLOAT_EQ(out.chw[64 * 64 * 2],
                  79 / 255.0f);  // B 100 -> int(255 * (100 / 255) ** 1.25) = 79 in Python
}

TEST(Preprocess, IntoSpanMatchesAndChecksSize) {
  cv::Mat rgb = plain(120, 90);
  fill(rgb, {30, 20, 50, 40}, cv::Scalar(10, 150, 90));
  PreprocessOptions options;
  options.normalise_background = false;  // the expected values are gamma only
  options.image_side_px = 128;
  const Preprocessed whole = preprocess(rgb, options);
  std::vector<float> batch(2 * 3 * 128 * 128, -1.0f);
  const CropResult crop = preprocess_into(rgb, options, std::span<float>(batch).subspan(3 * 128 * 128));
  EXPECT_EQ(crop.object_box, (CropBox{30, 20, 50, 40}));
  EXPECT_EQ(batch[0], -1.0f);
  EXPECT_TRUE(std::equal(whole.chw.begin(), whole.chw.end(), batch.begin() + 3 * 128 * 128));
  std::vector<float> wrong(100);
  EXPECT_THROW(preprocess_into(rgb, options, wrong), Error);
  options.image_side_px = 0;
  EXPECT_THROW(preprocess(rgb, options), Error);
  EXPECT_THROW(preprocess(cv::Mat(), PreprocessOptions{}), Error);
}

// Boxes computed by plain Python 3 (no OpenCV) over raw BGR dumps of cv::imread, with the
// documented rule: edge where a channel's central difference > 20, rows/columns with >= 3 edge
// pixels, then one pixel in from each side; and the lower median of the outer ring.
struct MangoExpectation {
  const char* file;
  CropBox box;
  cv::Vec3b background;
};
const MangoExpectation kMango[] = {
    {"2019_41005828_05.jpg", {53, 48, 110, 260}, {242, 239, 232}},
    {"2019_53043738_79.jpg", {48, 91, 142, 161}, {230, 229, 224}},
    {"2023_57044039_OR.jpg",
     {10, 175, 220, 157},
     {177, 187, 188}},  // object on a pedestal touching the bottom
    {"2023_57050228_20.jpg", {36, 42, 171, 179}, {235, 236, 238}},
};

// The same rule as a plain loop over OpenCV's own decode, for files without Python values.
CropBox reference_box(const cv::Mat& bgr) {
  std::vector<int> rows(static_cast<std::size_t>(bgr.rows)), cols(static_cast<std::size_t>(bgr.cols));
  for (int y = 1; y < bgr.rows - 1; ++y) {
    for (int x = 1; x < bgr.cols - 1; ++x) {
      int m = 0;
      for (int c = 0; c < 3; ++c) {
        m = std::max(m, std::abs(bgr.at<cv::Vec3b>(y, x + 1)[c] - bgr.at<cv::Vec3b>(y, x - 1)[c]));
        m = std::max(m, std::abs(bgr.at<cv::Vec3b>(y + 1, x)[c] - bgr.at<cv::Vec3b>(y - 1, x)[c]));
      }
      if (m > 20) ++rows[static_cast<std::size_t>(y)], ++cols[static_cast<std::size_t>(x)];
    }
  }
  std::vector<int> ys, xs;
  for (int y = 0; y < bgr.rows; ++y)
    if (rows[static_cast<std::size_t>(y)] >= 3) ys.push_back(y);
  for (int x = 0; x < bgr.cols; ++x)
    if (cols[static_cast<std::size_t>(x)] >= 3) xs.push_back(x);
  if (xs.empty() || ys.empty()) return {};
  return {xs.front() + 1, ys.front() + 1, xs.back() - xs.front() - 1, ys.back() - ys.front() - 1};
}

TEST(FindObjectBox, MangoPhotosMatchIndependentReference) {
  MYSTYLE_REQUIRE_DATASET(dir, "mango/images");
  for (const auto& expected : kMango) {
    const cv::Mat rgb = read_image(dir / expected.file);
    EXPECT_EQ(find_object_box(rgb, {}), expected.box) << expected.file;
    EXPECT_EQ(estimate_background(rgb), expected.background) << expected.file;
  }
  for (const char* file : {"2019_57039214_99.jpg", "2023_57007912_05.jpg", "2020_67050095_OR.jpg"}) {
    const std::string path = (dir / file).string();
    EXPECT_EQ(find_object_box(read_image(path), {}), reference_box(cv::imread(path, cv::IMREAD_COLOR)))
        << file;
  }
}

// The whole pipeline on a real photo against the same steps spelled out with OpenCV calls.
TEST(Preprocess, MangoPhotoMatchesStepByStepReference) {
  MYSTYLE_REQUIRE_DATASET(dir, "mango/images");
  const auto& expected = kMango[0];
  PreprocessOptions options;
  options.normalise_background = false;  // the expected values are gamma only
  const Preprocessed out = load_and_preprocess(dir / expected.file, options);
  // Object 110x260: margin round(0.05 * 260) = 13, side 286, x 53 - 88 = -35, y 48 - 13 = 35.
  EXPECT_EQ(out.object_box, expected.box);
  EXPECT_EQ(out.crop_box, (CropBox{-35, 35, 286, 286}));

  cv::Mat rgb;
  cv::cvtColor(cv::imread((dir / expected.file).string(), cv::IMREAD_COLOR), rgb, cv::COLOR_BGR2RGB);
  cv::Mat padded;
  const cv::Scalar bg(expected.background[0], expected.background[1], expected.background[2]);
  // Rows 35..320 and columns -35..250 of a 239x334 image: 35 padded on the left, 12 on the right.
  cv::copyMakeBorder(rgb(cv::Rect(0, 35, 239, 286)), padded, 0, 0, 35, 12, cv::BORDER_CONSTANT, bg);
  cv::Mat small;
  cv::resize(padded, small, cv::Size(64, 64), 0, 0, cv::INTER_AREA);
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      for (int c = 0; c < 3; ++c) {
        const std::uint8_t seen = gamma_formula(small.at<cv::Vec3b>(y, x)[c], 0.8);
        ASSERT_EQ(out.seen_rgb8.at<cv::Vec3b>(y, x)[c], seen) << y << " " << x << " " << c;
        ASSERT_FLOAT_EQ(out.chw[static_cast<std::size_t>((c * 64 + y) * 64 + x)], seen / 255.0f);
      }
    }
  }
}

TEST(Preprocess, ThreadsGiveTheSameResults) {
  MYSTYLE_REQUIRE_DATASET(dir, "mango/images");
  PreprocessOptions options;
  options.image_side_px = 128;
  std::vector<Preprocessed> sequential;
  for (const auto& m : kMango) sequential.push_back(load_and_preprocess(dir / m.file, options));
  std::vector<std::vector<float>> parallel(4 * std::size(kMango));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < std::size(kMango); ++i) {
        parallel[t * std::size(kMango) + i] = load_and_preprocess(dir / kMango[i].file, options).chw;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 0; i < parallel.size(); ++i)
    EXPECT_EQ(parallel[i], sequential[i % std::size(kMango)].chw) << i;
}

}  // namespace
}  // namespace mystyle::image

namespace mystyle::image {
namespace {

// A darker or tinted copy of a photo looks like the original after normalisation: the background
// goes to the reference grey and the object scales with it.
TEST(Preprocess, BackgroundNormalisationUndoesExposureAndTint) {
  cv::Mat photo(120, 100, CV_8UC3, cv::Scalar(236, 232, 226));  // a warm off-white studio background
  cv::rectangle(photo, cv::Rect(30, 20, 40, 80), cv::Scalar(60, 90, 150), cv::FILLED);
  cv::Mat darker, tinted;
  photo.convertTo(darker, -1, 0.6);
  cv::multiply(photo, cv::Scalar(0.8, 0.9, 1.05), tinted);

  PreprocessOptions options;
  options.gamma = 1.0;  // compare the normalisation alone
  const Preprocessed a = preprocess(photo, options), b = preprocess(darker, options), c = preprocess(tinted, options);
  // Corner: background at the reference. Centre: the object, restored to within rounding.
  for (int ch = 0; ch < 3; ++ch) EXPECT_EQ(a.seen_rgb8.at<cv::Vec3b>(0, 0)[ch], 240);
  for (const Preprocessed* other : {&b, &c}) {
    double worst = 0;
    for (std::size_t k = 0; k < a.chw.size(); ++k) worst = std::max(worst, double{std::abs(a.chw[k] - other->chw[k])});
    EXPECT_LT(worst, 4.0 / 255.0);
  }
  // Without normalisation the darker copy is far off.
  options.normalise_background = false;
  const Preprocessed raw_a = preprocess(photo, options), raw_b = preprocess(darker, options);
  EXPECT_GT(std::abs(raw_a.chw[0] - raw_b.chw[0]), 0.3f);
}

TEST(Preprocess, DarkBackgroundIsLeftAlone) {
  cv::Mat photo(60, 60, CV_8UC3, cv::Scalar(20, 20, 20));
  cv::rectangle(photo, cv::Rect(20, 20, 20, 20), cv::Scalar(200, 200, 200), cv::FILLED);
  PreprocessOptions on, off;
  on.crop.mode = off.crop.mode = CropMode::kNone;
  off.normalise_background = false;
  EXPECT_EQ(preprocess(photo, on).chw, preprocess(photo, off).chw);
  on.background_reference = 300;
  EXPECT_THROW(preprocess(photo, on), Error);
}

}  // namespace
}  // namespace mystyle::image
