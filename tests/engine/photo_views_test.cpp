#include "mystyle/engine/photo_views.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/image_cache.h"

namespace mystyle::engine {
namespace {

TEST(PhotoViews, ViewIdsFoldBackToItems) {
  for (std::int64_t item : {1, 7, 123456}) {
    for (int v = 0; v <= kEditedViews; ++v) EXPECT_EQ(item_of_view(view_id(item, v)), item);
  }
  EXPECT_LT(view_id(7, kEditedViews), view_id(8, 0));  // an item's views sort before the next item's
}

// View 3 is a saturating gain of 1.15 plus 10 on every channel; views 1 and 2 tilt the photo
// either way and keep its size, with the border (background) replicated.
TEST(PhotoViews, EditedViewsAreTheDocumentedEdits) {
  cv::Mat photo(60, 40, CV_8UC3, cv::Scalar(200, 210, 220));
  cv::rectangle(photo, {10, 15}, {29, 44}, cv::Scalar(40, 80, 120), cv::FILLED);
  const cv::Mat bright = edited_view(photo, 3);
  for (int y = 0; y < photo.rows; ++y)
    for (int x = 0; x < photo.cols; ++x)
      for (int c = 0; c < 3; ++c) {
        const int expected =
            std::min(255, static_cast<int>(std::lround(photo.at<cv::Vec3b>(y, x)[c] * 1.15 + 10)));
        ASSERT_NEAR(bright.at<cv::Vec3b>(y, x)[c], expected, 1);  // OpenCV rounds in float
      }
  for (int v : {1, 2}) {
    const cv::Mat tilted = edited_view(photo, v);
    EXPECT_EQ(tilted.size(), photo.size());
    EXPECT_EQ(tilted.at<cv::Vec3b>(0, 0), photo.at<cv::Vec3b>(0, 0));      // background corner
    EXPECT_EQ(tilted.at<cv::Vec3b>(30, 20), photo.at<cv::Vec3b>(30, 20));  // the centre stays
    EXPECT_GT(cv::norm(tilted, photo, cv::NORM_L1), 0.0);
  }
  EXPECT_NE(cv::norm(edited_view(photo, 1), edited_view(photo, 2), cv::NORM_L1), 0.0);
  EXPECT_THROW(edited_view(photo, 4), Error);
  EXPECT_THROW(edited_view(cv::Mat(), 1), Error);
}

TEST(PhotoViews, MergeKeepsEveryItemAndOnlyItsViews) {
  Embeddings items;
  items.dim = 2;
  items.ids = {3, 5};
  items.vectors = {1, 0, 0, 1};
  Embeddings views;
  views.dim = 2;
  views.ids = {view_id(3, 1), view_id(3, 2), view_id(3, 3), view_id(9, 1)};  // item 9 is gone
  views.vectors = {1, 1, 2, 2, 3, 3, 9, 9};
  const Embeddings merged = merge_views(items, views);
  EXPECT_EQ(merged.ids, (std::vector<std::int64_t>{view_id(3, 0), view_id(3, 1), view_id(3, 2), view_id(3, 3),
                                                   view_id(5, 0)}));
  EXPECT_EQ(merged.vectors, (std::vector<float>{1, 0, 1, 1, 2, 2, 3, 3, 0, 1}));
  views.dim = 3;
  EXPECT_THROW(merge_views(items, views), Error);
}

// Embeddings are tied to the model file and to the image pipeline that fed it: a change in either
// (here the input size, which is part of the pipeline's fingerprint) makes them stale.
TEST(EmbeddingSource, HashCoversModelAndPipeline) {
  const std::string model = "model bytes", other = "model bytez";
  EXPECT_EQ(embedding_source_hash(model, 64), embedding_source_hash(model, 64));
  EXPECT_NE(embedding_source_hash(model, 64), embedding_source_hash(other, 64));
  EXPECT_NE(embedding_source_hash(model, 64), embedding_source_hash(model, 128));
  EXPECT_NE(embedding_source_hash(model, 64), fnv1a64(model));  // the model file alone is not enough
  image::PreprocessOptions a, b;
  b.gamma = 1.0;
  EXPECT_NE(pipeline_fingerprint(a), pipeline_fingerprint(b));
  // Every option of the busy-background painting changes pixels, so each is in the fingerprint.
  const std::string base = pipeline_fingerprint(a);
  for (int field = 0; field < 7; ++field) {
    image::PreprocessOptions c;
    switch (field) {
      case 0: c.paint_out_busy_background = false; break;
      case 1: c.background.band_frac = 0.1; break;
      case 2: c.background.busy_edge_share = 0.02; break;
      case 3: c.background.max_studio_share = 0.3; break;
      case 4: c.background.segment_side_px = 200; break;
      case 5: c.background.segment_iterations = 5; break;
      default: c.background.fill = {230, 230, 230};
    }
    EXPECT_NE(pipeline_fingerprint(c), base) << "field " << field;
  }
}

}  // namespace
}  // namespace mystyle::engine
