#include "mystyle/eval/transfer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/catalog/import.h"
#include "mystyle/core/csv_reader.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/train/family.h"
#include "mystyle/eval/perturb.h"
#include "mystyle/eval/robustness.h"
#include "eval/eval_fixture.h"
#include "support/test_support.h"

namespace mystyle::eval {
namespace {

/// An off-white studio shot (a vertical light gradient) with a dark red garment of `width` x 60 px
/// centred at (80, 60).
cv::Mat studio_photo(int width = 30) {
  cv::Mat img(120, 160, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) img.row(y).setTo(cv::Scalar(240 - y / 10, 238 - y / 10, 232 - y / 10));
  cv::rectangle(img, cv::Rect(80 - width / 2, 30, width, 60), cv::Scalar(150, 20, 30), cv::FILLED);
  return img;
}

cv::Rect garment_box(const cv::Mat& rgb) {
  return cv::boundingRect(garment_mask(rgb));
}

TEST(TransferEdit, EachIsDeterministicKeepsSizeAndTypeAndChangesThePhoto) {
  const cv::Mat img = studio_photo();
  for (const TransferEdit edit : kAllTransferEdits) {
    const cv::Mat a = transfer_edit(img, edit, 7), b = transfer_edit(img, edit, 7);
    ASSERT_EQ(a.size(), img.size()) << transfer_edit_name(edit);
    ASSERT_EQ(a.type(), CV_8UC3) << transfer_edit_name(edit);
    EXPECT_EQ(cv::norm(a, b, cv::NORM_L1), 0) << transfer_edit_name(edit) << " differs between two runs";
    const double change = cv::norm(a, img, cv::NORM_L1);
    if (edit == TransferEdit::kNone) {
      EXPECT_EQ(change, 0);
    } else {
      EXPECT_GT(change, 0) << transfer_edit_name(edit);
    }
  }
}

// A found garment reused for every edit gives the same photos as finding it each time.
TEST(TransferEdit, AGarmentFoundOnceGivesTheSameEdits) {
  const cv::Mat img = studio_photo();
  const GarmentCutout garment = find_garment(img);
  for (const TransferEdit edit : kAllTransferEdits) {
    EXPECT_EQ(cv::norm(transfer_edit(img, garment, edit, 3), transfer_edit(img, edit, 3), cv::NORM_L1), 0)
        << transfer_edit_name(edit);
  }
  EXPECT_THROW(transfer_edit(studio_photo(), GarmentCutout{}, TransferEdit::kWideCut, 3), Error);
  EXPECT_THROW(transfer_edit(cv::Mat(), TransferEdit::kNone, 3), Error);
}

TEST(TransferEdit, SeedsChooseDifferentBackgrounds) {
  const cv::Mat img = studio_photo();
  std::set<std::vector<std::uint8_t>> corners;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const cv::Vec3b c = transfer_edit(img, TransferEdit::kBackground, seed).at<cv::Vec3b>(2, 2);
    corners.insert({c[0], c[1], c[2]});
  }
  EXPECT_GE(corners.size(), 4u);
}

TEST(GarmentMask, FindsTheGarmentOnAStudioGradient) {
  const cv::Mat img = studio_photo();
  EXPECT_EQ(garment_box(img), cv::Rect(65, 30, 30, 60));
}

// An off-white garment on an off-white studio (5 levels apart, a crisp outline): the flood fill of
// background_mask alone leaks into it; the garment is still found.
TEST(GarmentMask, FindsAWhiteGarmentOnOffWhite) {
  cv::Mat img(120, 160, CV_8UC3, cv::Scalar(236, 235, 232));
  cv::rectangle(img, cv::Rect(60, 30, 40, 60), cv::Scalar(247, 246, 240), cv::FILLED);
  cv::line(img, {70, 40}, {70, 80}, cv::Scalar(225, 224, 220));  // a seam
  const cv::Rect box = garment_box(img);
  EXPECT_NEAR(box.x, 60, 2);
  EXPECT_NEAR(box.width, 40, 3);
  EXPECT_NEAR(box.height, 60, 3);
}

// The wide cut stretches the garment about its centre by the factor; its height stays.
TEST(TransferEdit, WideCutWidensTheGarmentByTheFactor) {
  const cv::Mat img = studio_photo(30);
  for (const double factor : {1.3, 1.35, 1.4}) {
    const cv::Rect box = garment_box(widen_garment(img, factor));
    EXPECT_NEAR(box.width, 30 * factor, 2.0) << factor;
    EXPECT_NEAR(box.height, 60, 2.0) << factor;
    EXPECT_NEAR(box.x + box.width / 2.0, 80, 1.5) << factor;
  }
  const double seeded = garment_box(transfer_edit(img, TransferEdit::kWideCut, 11)).width / 30.0;
  EXPECT_GE(seeded, 1.3 - 2.0 / 30);
  EXPECT_LE(seeded, 1.4 + 2.0 / 30);
}

TEST(TransferEdit, SmallKeepsTheGarmentInsideTheFrameAtHalfToSixtyPercent) {
  const cv::Mat img = studio_photo(40);
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const cv::Rect box = garment_box(transfer_edit(img, TransferEdit::kSmall, seed));
    EXPECT_GE(box.height, 0.5 * 60 - 2) << seed;
    EXPECT_LE(box.height, 0.6 * 60 + 2) << seed;
    EXPECT_GT(box.x, 0);
    EXPECT_LT(box.br().x, img.cols);
  }
}

TEST(WeightedVote, SumsSimilaritiesPerLabel) {
  const Vote votes[] = {{"Dress", 0.9}, {"Trousers", 0.5}, {"Trousers", 0.45}, {"Dress", -0.3}};
  EXPECT_EQ(weighted_vote(votes), "Trousers");  // 0.95 against 0.9: the negative score counts 0
}

TEST(WeightedVote, ATieGoesToTheBetterRankedNeighbour) {
  const Vote votes[] = {{"Skirt", 0.3}, {"Trousers", 0.6}, {"Skirt", 0.3}};
  EXPECT_EQ(weighted_vote(votes), "Skirt");
  const Vote two[] = {{"Jeans", 0.5}, {"Skirt", 0.5}};
  EXPECT_EQ(weighted_vote(two), "Jeans");
  EXPECT_EQ(weighted_vote({}), "");
}

TEST(TransferSeed, IsStablePerItemAndRun) {
  EXPECT_EQ(transfer_seed(1, 42), transfer_seed(1, 42));
  EXPECT_NE(transfer_seed(1, 42), transfer_seed(1, 43));
  EXPECT_NE(transfer_seed(1, 42), transfer_seed(2, 42));
}

/// A real workspace: the MANGO products of 40 designs that come in several colours, at least 10 of
/// them held out (split seed 1), with a seed64 model trained for one epoch and its flat embeddings.
class TransferOnMango : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto csv = testing::dataset_path("mango/product_data.csv");
    if (csv.empty()) return;
    dir_ = new testing::TempDir();
    CsvReader reader(csv);
    std::vector<std::string> row;
    reader.read_row(row);
    CsvHeader header(row, reader.where());
    const auto c_id = header.require("cod_modelo_color"), c_cat = header.require("des_product_category");
    const auto c_file = header.require("des_filename"), c_family = header.require("des_product_family");
    const auto c_type = header.require("des_product_type"), c_colour = header.require("des_agrup_color_eng");
    std::map<std::string, std::vector<std::string>> designs;  // design -> its csv lines
    std::vector<std::string> order;
    while (reader.read_row(row)) {
      const auto image = csv.parent_path() / "images" / std::filesystem::path(row[c_file]).filename();
      const std::string design = catalog::design_of(row[c_id]);
      if (!designs.contains(design)) order.push_back(design);
      designs[design].push_back(fmt::format("{},item,\"{}\",\"{}\",\"{}\",\"{}\",u,{}\n", row[c_id],
                                            row[c_cat], row[c_family], row[c_type], row[c_colour],
                                            image.string()));
    }
    std::string items = "id,name,category,family,type,colour,url,image\n";
    int chosen = 0, held_out = 0;
    for (const auto& design : order) {
      if (designs[design].size() < 2) continue;
      const bool out = catalog::held_out_key(1, "mango/" + design);
      if (chosen >= 30 && !out) continue;
      for (const auto& line : designs[design]) items += line;
      ++chosen;
      held_out += out;
      if (chosen >= 40 && held_out >= 10) break;
    }
    catalog::Catalog cat(dir_->path());
    catalog::import_csv(cat, testing::write_file(*dir_ / "items.csv", items), std::nullopt, "mango",
                        testing::dataset_path("mango/images"));
    testing::train_one_epoch_and_embed(dir_->path(), /*batch_size=*/16);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr)
      GTEST_SKIP()
          << "MANGO data set not found under MYSTYLE_DATASETS; put ../shared/datasets beside the checkout";
  }
  static testing::TempDir* dir_;
};
testing::TempDir* TransferOnMango::dir_ = nullptr;

// The answer must come from other products: no query is ever answered by an item of its own design,
// although every queried design has another colour in the catalog.
TEST_F(TransferOnMango, NeverAnswersWithTheQuerysOwnDesign) {
  const engine::Workspace ws(dir_->path());
  TransferOptions options;
  options.model = "seed64";
  options.limit = 0;
  options.k = 5;
  options.threads = 2;
  const TransferReport r = run_transfer(ws, options);
  catalog::Catalog cat(dir_->path());
  std::map<std::int64_t, catalog::Item> items;
  for (auto& it : cat.all_items()) items.emplace(it.id, it);
  ASSERT_GE(r.query_ids.size(), 20u);  // at least 10 held-out designs of 2+ colours
  for (const auto id : r.query_ids) EXPECT_TRUE(catalog::is_held_out_design(items.at(id), 1));
  ASSERT_EQ(r.answers.size(), std::size(kAllTransferEdits));
  ASSERT_EQ(r.cells.size(), std::size(kAllTransferEdits));
  std::size_t checked = 0;
  for (const auto& per_method : r.answers) {
    ASSERT_EQ(per_method.size(), r.methods.size());
    for (const auto& answers : per_method) {
      ASSERT_EQ(answers.size(), r.query_ids.size());
      for (const TransferAnswer& a : answers) {
        const std::string own = catalog::design_of(items.at(a.query).source_id);
        EXPECT_EQ(a.neighbours.size(), options.k);
        for (const auto n : a.neighbours) {
          EXPECT_NE(catalog::design_of(items.at(n).source_id), own)
              << "query " << items.at(a.query).source_id;
          ++checked;
        }
        EXPECT_FALSE(a.type.empty());
      }
    }
  }
  EXPECT_EQ(checked, r.query_ids.size() * r.methods.size() * options.k * std::size(kAllTransferEdits));
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["kind"], "transfer");
  EXPECT_EQ(j["rows"].size(), std::size(kAllTransferEdits));
  EXPECT_NE(format_table(r).find("wide cut"), std::string::npos);
}

// Robustness queries only held-out designs unless told otherwise, still searching the whole catalog.
TEST_F(TransferOnMango, RobustnessSamplesHeldOutDesignsByDefault) {
  const engine::Workspace ws(dir_->path());
  catalog::Catalog cat(dir_->path());
  std::size_t held_out = 0, all = 0;
  for (const auto& it : cat.all_items()) {
    ++all;
    held_out += catalog::is_held_out_design(it, 1);
  }
  RobustnessOptions options;
  options.model = "seed64";
  options.limit = 0;
  options.threads = 2;
  const RobustnessReport r = run_robustness(ws, options);
  EXPECT_EQ(r.eligible, held_out);
  EXPECT_EQ(r.queries, held_out);
  EXPECT_EQ(r.catalog_items, all);
  EXPECT_EQ(to_json(r)["sample"], "held-out designs");
  options.all_items = true;
  const RobustnessReport every = run_robustness(ws, options);
  EXPECT_EQ(every.queries, all);
  EXPECT_EQ(to_json(every)["sample"], "all items");
}

}  // namespace
}  // namespace mystyle::eval
