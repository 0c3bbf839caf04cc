#include "mystyle/engine/image_cache.h"

#include <gtest/gtest.h>

#include "engine_fixture.h"

namespace mystyle::engine {
namespace {

// The cache holds exactly what the serving path computes for the same photo: training and serving
// cannot drift apart (the original's train/serve mismatch).
TEST(ImageCache, HoldsExactlyWhatTheServingPipelineComputes) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 12)) GTEST_SKIP() << "MANGO data set absent";
  catalog::Catalog cat(ws.path());
  const auto items = cat.all_items();
  image::PreprocessOptions options;
  const ImageCache cache = ImageCache::build(ws.path(), items, options, 2);
  ASSERT_EQ(cache.size(), 12u);
  EXPECT_EQ(cache.newly_built(), 12u);
  const nn::ImageSet set = cache.images();
  std::vector<float> gathered(static_cast<std::size_t>(set.image_floats()));
  for (std::uint32_t i = 0; i < cache.size(); i += 5) {
    const auto item = cat.find_item(cache.item_ids()[i]);
    const auto served = image::load_and_preprocess(*item->image_path, options);
    set.gather(std::span(&i, 1), gathered);
    ASSERT_EQ(gathered.size(), served.chw.size());
    for (std::size_t k = 0; k < gathered.size(); ++k) ASSERT_EQ(gathered[k], served.chw[k]) << "item " << i << " value " << k;
  }
}

TEST(ImageCache, ReusesRowsAndPreprocessesOnlyNewItems) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 8)) GTEST_SKIP() << "MANGO data set absent";
  catalog::Catalog cat(ws.path());
  image::PreprocessOptions options;
  ImageCache::build(ws.path(), cat.all_items(), options, 2);
  EXPECT_EQ(ImageCache::build(ws.path(), cat.all_items(), options, 2).newly_built(), 0u);

  testing::import_mango_sample(ws.path(), 1, /*skip=*/8);  // one more product
  const ImageCache grown = ImageCache::build(ws.path(), cat.all_items(), options, 2);
  EXPECT_EQ(grown.size(), 9u);
  EXPECT_EQ(grown.newly_built(), 1u);

  options.image_side_px = 128;  // other options, other file
  EXPECT_EQ(ImageCache::build(ws.path(), cat.all_items(), options, 2).newly_built(), 9u);
}

TEST(ImageCache, UndecodablePhotoIsLeftOutWithAWarning) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 3)) GTEST_SKIP() << "MANGO data set absent";
  const auto bad = testing::write_file(ws / "bad.jpg", "not a jpeg");
  const auto items_csv = testing::write_file(ws / "more.csv", "id,name,category,url,image\nX-1,bad,Tops,u," + bad.string() + "\n");
  catalog::Catalog cat(ws.path());
  catalog::import_csv(cat, items_csv, std::nullopt, "mango");
  const ImageCache cache = ImageCache::build(ws.path(), cat.all_items(), {}, 2);
  EXPECT_EQ(cache.size(), 3u);
  ASSERT_EQ(cache.warnings().size(), 1u);
  EXPECT_NE(cache.warnings()[0].find("bad.jpg"), std::string::npos) << cache.warnings()[0];
}

}  // namespace
}  // namespace mystyle::engine
