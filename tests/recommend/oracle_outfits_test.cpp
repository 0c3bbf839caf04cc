// The original's coordination step, reproduced on its own outfit table (seed_oracle.json).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mystyle/catalog/import.h"
#include "mystyle/core/csv_reader.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/recommend/coordinator.h"
#include "support/test_support.h"

namespace mystyle::recommend {
namespace {

/// The cosine top-10 item ids (first 7 characters of the label) from the original's own features,
/// found by our exact index.
std::vector<std::string> cosine_top10_ids(const std::filesystem::path& features_csv, std::size_t query_row) {
  CsvReader reader(features_csv);
  std::vector<std::string> row;
  reader.read_row(row);
  const CsvHeader header(row, reader.where());
  const std::size_t label = header.require("label");
  constexpr std::size_t kDim = 8;
  std::vector<float> values;
  std::vector<std::string> labels;
  while (reader.read_row(row)) {
    for (std::size_t c = 1; c <= kDim; ++c) values.push_back(std::stof(row[header.require("comp" + std::to_string(c))]));
    labels.push_back(row[label]);
  }
  std::vector<std::int64_t> ids(labels.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
  index::ExactIndex idx(kDim, index::Metric::kCosine);
  idx.add(ids, values);
  std::vector<std::string> top;
  for (const auto& n : idx.search(std::span(values).subspan(query_row * kDim, kDim), 10)) {
    top.push_back(labels[static_cast<std::size_t>(n.id)].substr(0, 7));
  }
  return top;
}

// The whole original flow on its own data: features -> cosine top-10 -> outfit rows.
TEST(OracleParity, SeedModeReturnsTheOriginalsFifteenOutfitRowsInOrder) {
  MYSTYLE_REQUIRE_DATASET(oracle_path, "my-style-manager/seed_oracle.json");
  MYSTYLE_REQUIRE_DATASET(table, "my-style-manager/uni_wearing.csv");
  const auto full_oracle = nlohmann::json::parse(std::ifstream(oracle_path));
  const auto oracle = full_oracle["outfits"];
  const auto top10 = cosine_top10_ids(oracle_path.parent_path() / full_oracle["features_file"].get<std::string>(),
                                      full_oracle["queries"][0]["query_row"].get<std::size_t>());
  std::vector<std::string> oracle_ids;
  for (const auto& id : oracle["item_ids"]) oracle_ids.push_back(fmt::format("{:07}", id.get<int>()));
  ASSERT_EQ(top10, oracle_ids);

  testing::TempDir ws;
  catalog::Catalog cat(ws.path());
  catalog::import_aihub(cat, table);
  const OutfitGraph graph = OutfitGraph::load(cat);

  std::vector<SimilarItem> similar;
  for (const auto& id : top10) {
    auto item = cat.find_item_by_source("aihub", id);
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
