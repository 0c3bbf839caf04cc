#include "mystyle/recommend/coordinator.h"

#include <gtest/gtest.h>

#include "mystyle/catalog/import.h"
#include "small_catalog.h"
#include "support/test_support.h"

namespace mystyle::recommend {
namespace {

using catalog::Slot;

/// Coat c1, tees t1 t2, jeans j1 j2, shoes s1; four outfits.
class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::import_small_catalog(dir_.path(), cat_);
    graph_ = OutfitGraph::load(cat_);
  }
  std::int64_t id(const std::string& source_id) { return cat_.find_item_by_source("t", source_id)->id; }
  std::string name_of_outfit(std::int64_t outfit_id) { return graph_.outfit(outfit_id)->source_id; }

  testing::TempDir dir_;
  catalog::Catalog cat_{dir_ / "ws"};
  OutfitGraph graph_;
};

TEST_F(CoordinatorTest, SeedModeListsOutfitsPerItemInOrderWithRepeats) {
  const std::vector<SimilarItem> similar = {{id("j1"), 0.9, 0.9}, {id("t1"), 0.8, 0.8}};
  CoordinationOptions options{CoordinationMode::kSeed, 0, std::nullopt};
  const auto rows = coordinate_outfits(graph_, similar, options);
  std::vector<std::string> names;
  for (const auto& r : rows) names.push_back(name_of_outfit(r.outfit_id));
  EXPECT_EQ(names, (std::vector<std::string>{"o1", "o3", "o1", "o2"}));
}

// o1 holds both similar items, so it outranks outfits holding one; others are grouped by slot.
TEST_F(CoordinatorTest, RankedModeMergesAndScoresByRelevance) {
  const std::vector<SimilarItem> similar = {{id("j1"), 0.9, 0.9}, {id("t1"), 0.8, 0.8}};
  const auto outfits = coordinate_outfits(graph_, similar, {});
  ASSERT_EQ(outfits.size(), 3u);
  EXPECT_EQ(name_of_outfit(outfits[0].outfit_id), "o1");
  EXPECT_DOUBLE_EQ(outfits[0].score, 1.7);
  EXPECT_EQ(outfits[0].matches.size(), 2u);
  EXPECT_TRUE(outfits[0].others.empty());
  EXPECT_EQ(name_of_outfit(outfits[1].outfit_id), "o3");  // j1 (0.9) beats t1 (0.8)
  EXPECT_EQ(name_of_outfit(outfits[2].outfit_id), "o2");
  ASSERT_EQ(outfits[2].matches.size(), 1u);
  EXPECT_EQ(outfits[2].matches[0].slot, Slot::kInnerTop);
  ASSERT_EQ(outfits[2].others.size(), 2u);
  EXPECT_EQ(outfits[2].others[0].slot, Slot::kMainTop);  // slot order: main_top before bottom
  EXPECT_EQ(outfits[2].others[1].slot, Slot::kBottom);
}

TEST_F(CoordinatorTest, QuerySlotKeepsOutfitsWhereASimilarPieceFillsIt) {
  const std::vector<SimilarItem> similar = {{id("j1"), 0.9, 0.9}, {id("t1"), 0.8, 0.8}};
  CoordinationOptions options;
  options.query_slot = Slot::kMainTop;  // a top: main_top and inner_top both count
  const auto outfits = coordinate_outfits(graph_, similar, options);
  ASSERT_EQ(outfits.size(), 2u);
  EXPECT_EQ(name_of_outfit(outfits[0].outfit_id), "o1");
  EXPECT_DOUBLE_EQ(outfits[0].score, 0.8);  // only the tee counts now
  EXPECT_EQ(name_of_outfit(outfits[1].outfit_id), "o2");
}

TEST_F(CoordinatorTest, LimitsAndUnknownItemsAreSafe) {
  const std::vector<SimilarItem> similar = {{id("j1"), 0.9, 0.9}, {999999, 0.5, 0.5}};
  CoordinationOptions options;
  options.max_outfits = 1;
  EXPECT_EQ(coordinate_outfits(graph_, similar, options).size(), 1u);
  EXPECT_TRUE(coordinate_outfits(graph_, {}, options).empty());
}

TEST(Relevance, MapsMetricsToUnitRange) {
  EXPECT_DOUBLE_EQ(relevance_from(0.5, false), 0.5);
  EXPECT_DOUBLE_EQ(relevance_from(-0.3, false), 0.0);
  EXPECT_DOUBLE_EQ(relevance_from(1.0, true), 0.5);  // 1/d = 1 -> d = 1 -> 1/(1+1)
  EXPECT_DOUBLE_EQ(relevance_from(std::numeric_limits<double>::infinity(), true), 1.0);
}

}  // namespace
}  // namespace mystyle::recommend
