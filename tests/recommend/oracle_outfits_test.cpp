// The original's coordination step, reproduced on its own outfit table (seed_oracle.json).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mystyle/catalog/import.h"
#include "mystyle/recommend/coordinator.h"
#include "support/test_support.h"

namespace mystyle::recommend {
namespace {

TEST(OracleParity, SeedModeReturnsTheOriginalsFifteenOutfitRowsInOrder) {
  MYSTYLE_REQUIRE_DATASET(oracle_path, "my-style-manager/seed_oracle.json");
  MYSTYLE_REQUIRE_DATASET(table, "my-style-manager/uni_wearing.csv");
  const auto oracle = nlohmann::json::parse(std::ifstream(oracle_path))["outfits"];

  testing::TempDir ws;
  catalog::Catalog cat(ws.path());
  catalog::import_aihub(cat, table);
  const OutfitGraph graph = OutfitGraph::load(cat);

  std::vector<SimilarItem> similar;
  for (const auto& id : oracle["item_ids"]) {
    auto item = cat.find_item_by_source("aihub", std::to_string(id.get<int>()));
    ASSERT_TRUE(item.has_value()) << id;
    similar.push_back({item->id, 1.0, 1.0});
  }
  CoordinationOptions options;
  options.mode = CoordinationMode::kSeed;
  options.max_outfits = 0;
  const auto rows = coordinate_outfits(graph, similar, options);

  std::vector<std::string> wearing;
  std::vector<int> per_item(similar.size(), 0);
  for (const auto& row : rows) {
    wearing.push_back(graph.outfit(row.outfit_id)->source_id);
    ++per_item[row.matches.front().rank];
  }
  EXPECT_EQ(wearing, oracle["wearing_in_order"].get<std::vector<std::string>>());
  EXPECT_EQ(per_item, oracle["per_item_outfit_counts"].get<std::vector<int>>());

  // The original crashed when fewer than 9 outfits matched; asking for 9 from one item is fine.
  options.max_outfits = 9;
  EXPECT_EQ(coordinate_outfits(graph, std::span(similar).first(1), options).size(), 1u);
  EXPECT_EQ(coordinate_outfits(graph, similar, options).size(), 9u);
}

}  // namespace
}  // namespace mystyle::recommend
