#include "mystyle/engine/simple_features.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "support/studio_photo.h"

namespace mystyle::eval {
namespace {

using testing::product_photo;

// The HSV histogram counts the product's pixels only: the red rectangle falls into one bin.
TEST(SimpleFeatures, HistogramOfTheObjectAndThumbnailsInRange) {
  const cv::Mat img = product_photo();
  std::vector<float> grey(image::kGreyDim), colour(image::kColourDim), hsv(image::kHsvDim);
  image::compute_simple_features(img, grey, colour, hsv);
  float sum = 0, top = 0;
  for (float v : hsv) {
    sum += v;
    top = std::max(top, v);
  }
  EXPECT_NEAR(sum, 1.0f, 1e-5);
  EXPECT_NEAR(top, 1.0f, 1e-5);
  for (float v : colour) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  // The middle of the photo is the red product, its corners background.
  const std::size_t centre = (image::kThumbSidePx / 2 * image::kThumbSidePx + image::kThumbSidePx / 2) * 3;
  EXPECT_GT(colour[centre], colour[centre + 1] + 0.3f);
  EXPECT_GT(grey[0], 0.8f);
}

}  // namespace
}  // namespace mystyle::eval
