#include "mystyle/engine/recommender.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "engine_fixture.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/index/index_io.h"
#include "mystyle/train/family.h"
#include "support/mango_workspace.h"

namespace mystyle::engine {
namespace {

using namespace ::mystyle::train;  // the training wing: models trained for these tests

RecommenderConfig seed64() {
  RecommenderConfig c;
  c.model = "seed64";
  return c;
}

/// 40 real MANGO products (with their MANGO outfits imported too), a seed64 trained one epoch, embedded.
class RecommenderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ws_ = new testing::TempDir();
    // Embed only a sample to keep the test fast: a catalog of the first 300 items with a photo.
    if (!testing::make_seed64_mango_workspace(ws_->path())) return;
    ready_ = true;
  }
  static void TearDownTestSuite() { delete ws_; }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "MANGO data set absent";
  }
  static inline testing::TempDir* ws_ = nullptr;
  static inline bool ready_ = false;
};

// A catalog photo finds its own product first (or an identical photo of another product), and the
// outfits shown hold it.
TEST_F(RecommenderTest, CatalogPhotoFindsItsOwnProductAndItsOutfits) {
  auto rec = Recommender::open(Workspace(ws_->path()), seed64());
  int checked = 0;
  for (const auto& item : rec->graph().items()) {
    if (!item.image_path || rec->graph().outfits_of(item.id).empty() || checked == 5) continue;
    ++checked;
    RecommendRequest request;
    const auto result = rec->recommend_file(*item.image_path, request);
    ASSERT_FALSE(result.similar.empty());
    const auto* top = result.similar.front().item;
    const bool identical_photo = read_file_bytes(*top->image_path) == read_file_bytes(*item.image_path);
    EXPECT_TRUE(top->id == item.id || identical_photo) << item.source_id << " found " << top->source_id;
    const auto doc = rec->to_json(result, request);
    EXPECT_EQ(doc["similar"][0]["rank"], 1);
    ASSERT_FALSE(doc["outfits"].empty());
    bool holds_query = false;
    for (const auto& m : doc["outfits"][0]["matched"]) holds_query |= m["item_id"] == top->id;
    EXPECT_TRUE(holds_query) << "the best outfit should hold the best match";
    EXPECT_GE(doc["timings_ms"]["total"].get<double>(), 0.0);
    // The product itself (cosine ~1) beats every same-type pair of the catalog: "very close".
    EXPECT_EQ(doc["similar"][0]["match"]["label"], "very close");
    EXPECT_GT(doc["similar"][0]["match"]["same_type_percentile"].get<double>(), 0.95);
    const auto& last = doc["similar"].back()["match"];
    EXPECT_LE(last["same_type_percentile"].get<double>(),
              doc["similar"][0]["match"]["same_type_percentile"].get<double>());
  }
  EXPECT_EQ(checked, 5);
  // Match strengths are cosine's: another metric has none.
  RecommendRequest euclid;
  euclid.metric = index::Metric::kEuclidean;
  const auto any = rec->recommend_file(*rec->graph().items().front().image_path, euclid);
  EXPECT_TRUE(rec->to_json(any, euclid)["similar"][0]["match"].is_null());
}

/// The catalog's last item with a photo, or null.
const catalog::Item* last_with_photo(const Recommender& rec) {
  const catalog::Item* found = nullptr;
  for (const auto& item : rec.graph().items()) {
    if (item.image_path) found = &item;
  }
  return found;
}

TEST_F(RecommenderTest, FiltersByCategoryAndRefusesBadInput) {
  auto rec = Recommender::open(Workspace(ws_->path()), seed64());
  const catalog::Item* any = last_with_photo(*rec);
  ASSERT_NE(any, nullptr);
  RecommendRequest request;
  request.category = "Bottoms";
  request.k = 20;
  for (const auto& s : rec->recommend_file(*any->image_path, request).similar)
    EXPECT_EQ(s.item->category, "Bottoms");

  request.category = "Spacesuits";
  EXPECT_THROW(rec->recommend_file(*any->image_path, request), Error);
  const std::string text = "this is not an image";
  EXPECT_THROW(
      rec->recommend({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, "note.jpg", {}),
      Error);
}

// A worn piece is searched among its slot's items only (RecommendRequest::similar_slot).
TEST_F(RecommenderTest, SimilarSlotKeepsOnlyThatSlotsItems) {
  auto rec = Recommender::open(Workspace(ws_->path()), seed64());
  const catalog::Item* any = last_with_photo(*rec);
  ASSERT_NE(any, nullptr);
  RecommendRequest request;
  request.k = 15;
  request.similar_slot = catalog::Slot::kShoes;
  const RecommendResult r = rec->recommend_file(*any->image_path, request);
  ASSERT_FALSE(r.similar.empty());
  for (const auto& s : r.similar) EXPECT_EQ(s.item->slot, catalog::Slot::kShoes) << s.item->source_id;
  EXPECT_EQ(rec->to_json(r, request)["query"]["similar_slot"], "shoes");
}

// A retrained model makes old embeddings stale: a clear error, not silently wrong results.
TEST_F(RecommenderTest, StaleEmbeddingsAreRefused) {
  testing::TempDir copy;
  std::filesystem::copy(ws_->path(), copy.path(), std::filesystem::copy_options::recursive);
  const Workspace w(copy.path());
  std::string model = read_file_bytes(w.model_file("seed64"));
  Embeddings e = load_embeddings(w.embeddings_file("seed64", "flat"));
  e.model_hash ^= 1;
  save_embeddings(w.embeddings_file("seed64", "flat"), e);
  try {
    Recommender::open(w, seed64());
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("mystyle embed"), std::string::npos) << err.what();
  }
}

// The embeddings' checksum is checked beside the catalog's load (on a second thread): a damaged vector
// is still refused, and the saved index is neither rebuilt from it nor rewritten.
TEST_F(RecommenderTest, DamagedEmbeddingsAreRefusedAndLeaveTheIndexAlone) {
  testing::TempDir copy;
  std::filesystem::copy(ws_->path(), copy.path(), std::filesystem::copy_options::recursive);
  const Workspace w(copy.path());
  RecommenderConfig config = seed64();
  config.use_views = false;
  (void)Recommender::open(w, config);  // the index saved, current
  const auto index_file = w.root() / "index" / "seed64-flat-exact.idx";
  ASSERT_TRUE(std::filesystem::exists(index_file));
  // Drop the last item's row from the index so that a start would add it back (and save) if it went on.
  {
    auto index = index::load_index(index_file);
    const Embeddings e = load_embeddings(w.embeddings_file("seed64", "flat"));
    ASSERT_EQ(index->remove(std::span(e.ids).last(1)), 1u);
    index::save_index(*index, index_file);
  }
  const std::string index_bytes = read_file_bytes(index_file);
  std::string bytes = read_file_bytes(w.embeddings_file("seed64", "flat"));
  bytes[bytes.size() - 1] ^= 0x40;  // the last vector's last byte
  write_file_atomic(w.embeddings_file("seed64", "flat"), bytes);
  try {
    (void)Recommender::open(w, config);
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::kCorrupt);
    EXPECT_NE(std::string(err.what()).find("checksum"), std::string::npos) << err.what();
  }
  EXPECT_EQ(read_file_bytes(index_file), index_bytes);
}

// With the items' edited views embedded, the index holds four entries per item, results are folded
// back to distinct items, filters still hold, and a photo tilted exactly as view 1 finds its product
// first with similarity ~1. Re-embedding encodes nothing new; views of another model are ignored.
TEST_F(RecommenderTest, EditedViewsAreIndexedAndFoldedBackToItems) {
  testing::TempDir copy;
  std::filesystem::copy(ws_->path(), copy.path(), std::filesystem::copy_options::recursive);
  const Workspace w(copy.path());
  const EmbedReport first = embed_catalog_views(w, "seed64", nn::LatentPooling::kFlat, 2);
  RecommenderConfig without_views = seed64();
  without_views.use_views = false;
  auto plain = Recommender::open(w, without_views);
  EXPECT_EQ(first.items, plain->indexed_items());
  EXPECT_EQ(first.newly_encoded, first.items);
  EXPECT_EQ(embed_catalog_views(w, "seed64", nn::LatentPooling::kFlat, 2).newly_encoded, 0u);

  auto rec = Recommender::open(w, seed64());
  EXPECT_EQ(rec->views_per_item(), kViewStride);
  EXPECT_EQ(rec->indexed_items(), plain->indexed_items());
  EXPECT_EQ(rec->index().size(), plain->indexed_items() * kViewStride);
  int checked = 0;
  for (const auto& item : rec->graph().items()) {
    if (!item.image_path || checked == 3) continue;
    ++checked;
    // Decoded as embedding decodes it (a reduced JPEG decode for the model's input size).
    const cv::Mat photo =
        image::read_image(*item.image_path, {}, image::decode_min_side_px(image::PreprocessOptions{}));
    cv::Mat bgr;
    cv::cvtColor(edited_view(photo, 1), bgr, cv::COLOR_RGB2BGR);
    const auto tilted = copy.path() / "tilted.png";
    ASSERT_TRUE(cv::imwrite(tilted.string(), bgr));
    RecommendRequest request;
    request.k = 12;
    const auto result = rec->recommend_file(tilted, request);
    ASSERT_EQ(result.similar.size(), 12u);
    std::set<std::int64_t> distinct;
    for (const auto& s : result.similar) distinct.insert(s.item->id);
    EXPECT_EQ(distinct.size(), 12u) << "an item appears once, however many of its views match";
    const auto* top = result.similar.front().item;
    const bool identical_photo = read_file_bytes(*top->image_path) == read_file_bytes(*item.image_path);
    EXPECT_TRUE(top->id == item.id || identical_photo) << item.source_id << " found " << top->source_id;
    EXPECT_NEAR(result.similar.front().score, 1.0, 1e-4);
    if (top->id == item.id) {
      EXPECT_EQ(result.similar.front().view, 1);
      EXPECT_EQ(rec->to_json(result, request)["similar"][0]["matched_view"], "tilted +5");
    }
    EXPECT_EQ(plain->recommend_file(tilted, request).similar.front().view, 0) << "without views, the photo";
    request.category = "Bottoms";
    for (const auto& s : rec->recommend_file(tilted, request).similar) EXPECT_EQ(s.item->category, "Bottoms");
  }
  EXPECT_EQ(checked, 3);

  Embeddings views = load_embeddings(views_file(w, "seed64", nn::LatentPooling::kFlat));
  views.model_hash ^= 1;
  save_embeddings(views_file(w, "seed64", nn::LatentPooling::kFlat), views);
  EXPECT_EQ(Recommender::open(w, seed64())->views_per_item(), 1);
}

}  // namespace
}  // namespace mystyle::engine
