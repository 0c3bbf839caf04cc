// image/skin.h on drawn photos whose skin-coloured pixels are known: a dark garment alone, the same
// garment with a face and hands, a beige garment alone, a person on a busy street.
#include "mystyle/image/skin.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"

namespace mystyle::image {
namespace {

const cv::Scalar kBackdrop(236, 235, 233), kNavy(30, 40, 90), kSkin(224, 172, 140), kBeige(230, 200, 170);

// 96x96, so the thumbnail is the photo itself and every share can be counted here.
cv::Mat studio(const cv::Scalar& garment) {
  cv::Mat m(96, 96, CV_8UC3, kBackdrop);
  m(cv::Rect(24, 16, 48, 64)).setTo(garment);  // 3072 pixels, a third of the photo
  return m;
}

TEST(SkinTest, ADarkGarmentAloneShowsNoPerson) {
  const SkinTest t = skin_test(studio(kNavy));
  EXPECT_EQ(t.skin_share, 0.0);
  EXPECT_EQ(t.studio_frame, 1.0);
  EXPECT_FALSE(t.may_show_person());
}

TEST(SkinTest, AFaceAndHandsBesideTheGarmentMayBeAPerson) {
  cv::Mat m = studio(kNavy);
  m(cv::Rect(40, 2, 16, 12)).setTo(kSkin);   // a face: 192 pixels
  m(cv::Rect(16, 60, 6, 8)).setTo(kSkin);    // two hands: 96 pixels
  m(cv::Rect(74, 60, 6, 8)).setTo(kSkin);
  const SkinTest t = skin_test(m);
  EXPECT_DOUBLE_EQ(t.skin_share, 288.0 / (96 * 96));
  EXPECT_DOUBLE_EQ(t.skin_of_foreground, 288.0 / (3072 + 288));
  EXPECT_TRUE(t.may_show_person());
}

TEST(SkinTest, ABeigeGarmentAloneOnABackdropIsAGarment) {
  const SkinTest t = skin_test(studio(kBeige));
  EXPECT_DOUBLE_EQ(t.skin_share, 3072.0 / (96 * 96));
  EXPECT_DOUBLE_EQ(t.skin_of_foreground, 1.0);
  EXPECT_FALSE(t.may_show_person());
}

TEST(SkinTest, SkinOnABusyFrameMayBeAPersonWhateverItsShare) {
  cv::Mat m = studio(kBeige);
  m.rowRange(0, 4).setTo(cv::Scalar(40, 120, 40));  // a green street all round the frame
  m.rowRange(92, 96).setTo(cv::Scalar(40, 120, 40));
  m.colRange(0, 4).setTo(cv::Scalar(40, 120, 40));
  m.colRange(92, 96).setTo(cv::Scalar(40, 120, 40));
  const SkinTest t = skin_test(m);
  EXPECT_EQ(t.studio_frame, 0.0);
  EXPECT_TRUE(t.may_show_person());
}

TEST(SkinTest, ALargePhotoIsLookedAtAsAThumbnail) {
  cv::Mat big;
  cv::resize(studio(kBeige), big, cv::Size(960, 960), 0, 0, cv::INTER_NEAREST);
  EXPECT_NEAR(skin_test(big).skin_share, 3072.0 / (96 * 96), 1e-9);
  EXPECT_THROW(skin_test(cv::Mat()), Error);
  EXPECT_THROW(skin_test(cv::Mat(10, 10, CV_8UC1)), Error);
}

}  // namespace
}  // namespace mystyle::image
