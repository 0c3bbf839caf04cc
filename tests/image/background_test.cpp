// Busy backgrounds painted out (image/background.h): studio photos untouched, a garment on a
// texture segmented, a close-up left alone, and MANGO's own photos almost never flagged.
#include "mystyle/image/background.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/preprocess.h"
#include "support/test_support.h"

namespace mystyle::image {
namespace {

constexpr int kRows = 400, kCols = 300;
const cv::Rect kGarment(90, 100, 120, 200);  // the ellipse's bounding box

// A studio backdrop: light grey with a vertical gradient and darker corners (vignetting).
cv::Mat studio_backdrop() {
  cv::Mat m(kRows, kCols, CV_8UC3);
  for (int y = 0; y < kRows; ++y) {
    for (int x = 0; x < kCols; ++x) {
      const double dx = (x - kCols / 2.0) / kCols, dy = (y - kRows / 2.0) / kRows;
      const auto v = static_cast<std::uint8_t>(250 - 10.0 * y / kRows - 40.0 * (dx * dx + dy * dy));
      m.at<cv::Vec3b>(y, x) = {v, v, static_cast<std::uint8_t>(v - 3)};
    }
  }
  return m;
}

// Wood-like planks: brown stripes of two shades with a fine grain.
cv::Mat wood_floor() {
  cv::Mat m(kRows, kCols, CV_8UC3);
  for (int y = 0; y < kRows; ++y) {
    for (int x = 0; x < kCols; ++x) {
      const bool dark = ((y / 7) % 2) == 0;
      const int grain = ((x * 7 + y * 3) % 11) * 3;
      m.at<cv::Vec3b>(y, x) = dark ? cv::Vec3b(110 + grain, 70 + grain / 2, 40) : cv::Vec3b(170 + grain, 120 + grain / 2, 70);
    }
  }
  return m;
}

cv::Mat with_garment(cv::Mat background) {
  cv::ellipse(background, {kGarment.x + kGarment.width / 2, kGarment.y + kGarment.height / 2},
              {kGarment.width / 2, kGarment.height / 2}, 0, 0, 360, cv::Scalar(40, 60, 160), cv::FILLED);
  return background;
}

TEST(Background, StudioPhotosAreLeftExactlyAsTheyAre) {
  const cv::Mat photo = with_garment(studio_backdrop());
  const BackgroundOptions options;
  EXPECT_LT(band_edge_share(photo, options, 20), 0.01);
  const BackgroundResult r = paint_out_background(photo, options, 20);
  EXPECT_FALSE(r.busy);
  EXPECT_FALSE(r.painted);
  EXPECT_EQ(r.rgb.data, photo.data) << "not even copied";
}

TEST(Background, AGarmentOnAWoodFloorKeepsItsPixelsAndLosesTheFloor) {
  const cv::Mat photo = with_garment(wood_floor());
  const BackgroundOptions options;
  EXPECT_GT(band_edge_share(photo, options, 20), 0.3);
  const BackgroundResult r = paint_out_background(photo, options, 20);
  ASSERT_TRUE(r.busy);
  ASSERT_TRUE(r.painted);
  // Well inside the ellipse: the garment's own colour; well outside it: the studio fill.
  EXPECT_EQ(r.rgb.at<cv::Vec3b>(200, 150), cv::Vec3b(40, 60, 160));
  for (const cv::Point p : {cv::Point(5, 5), cv::Point(290, 390), cv::Point(30, 200), cv::Point(150, 40)}) {
    EXPECT_EQ(r.rgb.at<cv::Vec3b>(p), options.fill) << p;
  }
  // The object crop, lost on the floor (whole frame), finds the garment on the painted photo.
  const CropBox lost = find_object_box(photo, CropOptions{});
  EXPECT_GT(lost.width * lost.height, kRows * kCols * 9 / 10);
  const CropBox found = find_object_box(r.rgb, CropOptions{});
  EXPECT_NEAR(found.x, kGarment.x, 6);
  EXPECT_NEAR(found.y, kGarment.y, 6);
  EXPECT_NEAR(found.width, kGarment.width, 12);
  EXPECT_NEAR(found.height, kGarment.height, 12);
  // The same photo gives the same pixels every time (GrabCut's k-means is seeded).
  const BackgroundResult again = paint_out_background(photo, options, 20);
  EXPECT_EQ(cv::norm(again.rgb, r.rgb, cv::NORM_INF), 0.0);
}

TEST(Background, AClosedUpPatternedGarmentIsNotABackground) {
  // Red and blue stripes to every edge of the frame: the band is busy and holds no backdrop, but what
  // GrabCut keeps runs out of the frame (or is everything), so the photo is left alone.
  cv::Mat photo(kRows, kCols, CV_8UC3);
  for (int y = 0; y < kRows; ++y) {
    for (int x = 0; x < kCols; ++x) photo.at<cv::Vec3b>(y, x) = ((x / 9) % 2) ? cv::Vec3b(150, 30, 40) : cv::Vec3b(30, 40, 140);
  }
  const BackgroundResult r = paint_out_background(photo, BackgroundOptions{}, 20);
  EXPECT_TRUE(r.busy);
  EXPECT_FALSE(r.painted);
  EXPECT_EQ(r.rgb.data, photo.data);
}

TEST(Background, APatternedGarmentCutByTheFrameOnAStudioBackdropIsNotBusy) {
  // A tight crop: the striped garment runs out at the top and bottom, the backdrop shows at the sides.
  cv::Mat photo = studio_backdrop();
  for (int y = 0; y < kRows; ++y) {
    for (int x = 60; x < 240; ++x) photo.at<cv::Vec3b>(y, x) = ((y / 6) % 2) ? cv::Vec3b(20, 20, 30) : cv::Vec3b(200, 40, 40);
  }
  const BackgroundResult r = paint_out_background(photo, BackgroundOptions{}, 20);
  EXPECT_GT(r.edge_share, BackgroundOptions{}.busy_edge_share) << "edges in the band";
  EXPECT_GT(r.studio_share, 0.3) << "and backdrop beside them";
  EXPECT_FALSE(r.busy);
  EXPECT_EQ(r.rgb.data, photo.data);
}

TEST(Background, PreprocessPaintsOutOnlyBusyBackgroundsAndOnlyForTheObjectCrop) {
  PreprocessOptions on;
  on.image_side_px = 32;
  PreprocessOptions off = on;
  off.paint_out_busy_background = false;
  const cv::Mat studio = with_garment(studio_backdrop());
  EXPECT_EQ(preprocess(studio, on).chw, preprocess(studio, off).chw);
  EXPECT_FALSE(preprocess(studio, on).background_painted);
  const cv::Mat floor = with_garment(wood_floor());
  const Preprocessed painted = preprocess(floor, on);
  EXPECT_TRUE(painted.background_painted);
  EXPECT_FALSE(preprocess(floor, off).background_painted);
  EXPECT_NE(painted.chw, preprocess(floor, off).chw);
  EXPECT_LT(painted.crop_box.width, kCols * 3 / 4) << "the crop closes in on the garment";
  PreprocessOptions window = on;
  window.crop.mode = CropMode::kNone;
  PreprocessOptions window_off = window;
  window_off.paint_out_busy_background = false;
  EXPECT_EQ(preprocess(floor, window).chw, preprocess(floor, window_off).chw) << "only the object crop paints";
}

TEST(Background, RejectsNonRgbImages) {
  EXPECT_THROW(band_edge_share(cv::Mat(), BackgroundOptions{}, 20), Error);
  EXPECT_THROW(paint_out_background(cv::Mat(10, 10, CV_8UC1), BackgroundOptions{}, 20), Error);
}

// MANGO's studio photos, as serving decodes them: at most 1 in 100 is repainted.
TEST(Background, MangoStudioPhotosAreAlmostNeverRepainted) {
  MYSTYLE_REQUIRE_DATASET(images, "mango/images");
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(images)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::size_t seen = 0, painted = 0;
  for (std::size_t i = 0; i < files.size() && seen < 300; i += 7) {
    const cv::Mat rgb = read_image(files[i], {}, 384);
    painted += paint_out_background(rgb, BackgroundOptions{}, 20).painted;
    ++seen;
  }
  ASSERT_EQ(seen, 300u);
  EXPECT_LE(painted, 3u);
}

}  // namespace
}  // namespace mystyle::image
