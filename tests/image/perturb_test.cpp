#include "mystyle/image/perturb.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "support/studio_photo.h"

namespace mystyle::image {
namespace {

using testing::product_photo;

TEST(Perturb, BackgroundMaskFollowsTheGradientAndStopsAtTheObject) {
  const cv::Mat img = product_photo();
  const cv::Mat mask = background_mask(img);
  EXPECT_EQ(mask.at<std::uint8_t>(0, 0), 255);
  EXPECT_EQ(mask.at<std::uint8_t>(119, 89), 255);  // darker bottom corner is background too
  EXPECT_EQ(mask.at<std::uint8_t>(60, 45), 0);     // inside the product
  EXPECT_EQ(cv::countNonZero(mask), 120 * 90 - 40 * 60);
}

TEST(Perturb, EveryPerturbationKeepsSizeAndTypeAndChangesThePhoto) {
  const cv::Mat img = product_photo();
  for (Perturbation p : kAllPerturbations) {
    const cv::Mat out = perturb(img, p);
    ASSERT_EQ(out.size(), img.size()) << perturbation_name(p);
    ASSERT_EQ(out.type(), CV_8UC3);
    const double diff = cv::norm(out, img, cv::NORM_L1);
    if (p == Perturbation::kNone) {
      EXPECT_EQ(diff, 0);
    } else {
      EXPECT_GT(diff, 0) << perturbation_name(p);
    }
  }
  EXPECT_EQ(perturb(img, Perturbation::kBackground).at<cv::Vec3b>(0, 0), cv::Vec3b(150, 170, 200));
  EXPECT_EQ(perturb(img, Perturbation::kBackground).at<cv::Vec3b>(60, 45), cv::Vec3b(150, 20, 30));
}

}  // namespace
}  // namespace mystyle::image
