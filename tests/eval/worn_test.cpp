// eval/worn.h on a small real workspace (300 MANGO products, seed64 trained one epoch, an untrained
// parse model) and a few CCP photos: the report's rows, and a perfect parser's pieces always in the
// right slot (the labels' own regions are searched among their class's slot: the reference).
#include "mystyle/eval/worn.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/import.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/model_spec.h"
#include "mystyle/train/family.h"
#include "support/mango_workspace.h"
#include "support/test_support.h"

namespace mystyle::eval {
namespace {

TEST(WornTypeGroups, IssueGroupsFromBothVocabularies) {
  EXPECT_EQ(type_group_of_family("Jeans"), "bottoms");
  EXPECT_EQ(type_group_of_family("Skirts"), "bottoms");
  EXPECT_EQ(type_group_of_family("Blazers"), "outerwear");
  EXPECT_EQ(type_group_of_family("Sweater"), "tops");
  EXPECT_EQ(type_group_of_family("Jumpsuit"), "dresses");
  EXPECT_EQ(type_group_of_family("Footwear"), "footwear");
  EXPECT_EQ(type_group_of_family("Bags"), "bags");
  EXPECT_EQ(type_group_of_family("Jewellery"), "");
  EXPECT_EQ(type_group_of_ccp_label("pants"), "bottoms");
  EXPECT_EQ(type_group_of_ccp_label("coat"), "outerwear");
  EXPECT_EQ(type_group_of_ccp_label("t-shirt"), "tops");
  EXPECT_EQ(type_group_of_ccp_label("romper"), "dresses");
  EXPECT_EQ(type_group_of_ccp_label("heels"), "footwear");
  EXPECT_EQ(type_group_of_ccp_label("purse"), "bags");
  EXPECT_EQ(type_group_of_ccp_label("necklace"), "");
}

TEST(WornEval, ReportsEverySetAndAPerfectParserIsAlwaysInTheRightSlot) {
  const auto ccp = testing::dataset_path("ccp/labels.csv");
  testing::TempDir dir;
  if (ccp.empty() || !testing::make_seed64_mango_workspace(dir.path())) GTEST_SKIP() << "MANGO or CCP data set absent";
  const engine::Workspace ws(dir.path());

  WornOptions options;
  options.model = "seed64";
  options.ccp = ccp.parent_path();
  options.limit = 4;
  options.studio_limit = 6;
  options.tagged_limit = 4;
  EXPECT_THROW(run_worn(ws, options), Error) << "no parse model: the error names the command";

  nn::Model parser(nn::builtin_model_spec("parse"), 1);
  nn::save_model(ws.model_file("parse"), parser);
  const WornReport r = run_worn(ws, options);
  EXPECT_EQ(r.photos, 4u);
  std::map<std::string, const WornRow*> rows;
  for (const WornRow& row : r.rows) rows[row.set + " / " + row.method] = &row;
  const WornRow* perfect = rows.at("CCP held-out / pieces from the labels (a perfect parser)");
  const WornRow* whole = rows.at("CCP held-out / whole photo, one garment (before)");
  ASSERT_GT(perfect->pieces, 0u);
  EXPECT_EQ(perfect->slot_accuracy, 1.0);
  EXPECT_EQ(perfect->found, 1.0);
  EXPECT_EQ(whole->pieces, whole->truth_pieces) << "the one answer is judged against every garment worn";
  EXPECT_TRUE(rows.contains("CCP held-out / pieces parsed (ours)"));
  EXPECT_TRUE(rows.contains("CCP tagged only (named garments) / the named slot's piece (ours)"));
  const WornRow* studio = rows.at("MANGO held-out studio photos / the photo (own design left out)");
  EXPECT_EQ(studio->pieces, 6u);
  for (const WornRow& row : r.rows) {
    EXPECT_GE(row.slot_accuracy, 0.0);
    EXPECT_LE(row.slot_accuracy, 1.0);
    EXPECT_LE(row.typed, row.pieces);
  }
  const nlohmann::json doc = to_json(r);
  EXPECT_EQ(doc["rows"].size(), r.rows.size());
  EXPECT_NE(format_table(r).find("a perfect parser"), std::string::npos);
}

}  // namespace
}  // namespace mystyle::eval
