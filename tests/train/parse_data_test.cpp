// The parsing family's data: CCP's labels read as parse classes, the seeded split (no held-out photo
// reaches training), the IoU arithmetic and the logits-to-classes step.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "mystyle/core/error.h"
#include "mystyle/engine/parser.h"
#include "mystyle/train/ccp.h"
#include "mystyle/train/family.h"
#include "mystyle/train/parse_job.h"
#include "support/test_support.h"

namespace mystyle::train {
namespace {

using engine::ParseClass;

TEST(CcpClasses, GarmentsLandInTheirCatalogSlots) {
  EXPECT_EQ(ccp_class("jeans"), ParseClass::kBottom);
  EXPECT_EQ(ccp_class("skirt"), ParseClass::kBottom);
  EXPECT_EQ(ccp_class("coat"), ParseClass::kOuterwear);
  EXPECT_EQ(ccp_class("t-shirt"), ParseClass::kTop);
  EXPECT_EQ(ccp_class("dress"), ParseClass::kDress);
  EXPECT_EQ(ccp_class("sneakers"), ParseClass::kShoes);
  EXPECT_EQ(ccp_class("purse"), ParseClass::kBag);
  EXPECT_EQ(ccp_class("skin"), ParseClass::kPerson);
  EXPECT_EQ(ccp_class("null"), ParseClass::kBackground);
  EXPECT_EQ(ccp_class("spacesuit"), std::nullopt);
  EXPECT_EQ(engine::slot_of(ParseClass::kBottom), catalog::Slot::kBottom);
  EXPECT_EQ(engine::slot_of(ParseClass::kTop), catalog::Slot::kMainTop);
  EXPECT_EQ(engine::slot_of(ParseClass::kTop, /*under_outerwear=*/true), catalog::Slot::kInnerTop);
  EXPECT_EQ(engine::slot_of(ParseClass::kPerson), std::nullopt);
}

TEST(CcpSplit, SeededTwentyPercentHeldOut) {
  int held = 0, differ = 0;
  for (int i = 1; i <= 2000; ++i) {
    const std::string id = fmt::format("{:04}", i);
    held += ccp_held_out(id, 1) ? 1 : 0;
    differ += ccp_held_out(id, 1) != ccp_held_out(id, 2) ? 1 : 0;
    EXPECT_EQ(ccp_held_out(id, 1), ccp_held_out(id, 1));
  }
  EXPECT_NEAR(held / 2000.0, 0.2, 0.03);
  EXPECT_GT(differ, 400);  // another seed is another split
}

// Every CCP label has a class, and the job's data keeps every held-out photo out of training.
TEST(CcpData, NoHeldOutPhotoReachesTraining) {
  MYSTYLE_REQUIRE_DATASET(root, "ccp");
  const CcpSet set = load_ccp(root);
  EXPECT_EQ(set.annotated.size(), 804U);
  for (std::size_t label = 0; label < set.label_names.size(); ++label) {
    EXPECT_GE(set.class_of_label[label], 0) << set.label_names[label];
  }
  const ParseData data = load_parse_data(root, 1, 0);
  std::set<std::string> train;
  for (const auto& p : data.train) {
    EXPECT_FALSE(ccp_held_out(p.id, 1)) << p.id;
    train.insert(p.id);
  }
  for (const auto& p : data.held_out) {
    EXPECT_TRUE(ccp_held_out(p.id, 1)) << p.id;
    EXPECT_FALSE(train.contains(p.id)) << p.id;
  }
  EXPECT_EQ(data.train.size() + data.held_out.size(), set.annotated.size());
  EXPECT_NEAR(static_cast<double>(data.held_out.size()) / set.annotated.size(), 0.2, 0.04);
  const ParsedPhoto& first = data.train.front();
  EXPECT_EQ(first.rgb.size(), first.classes.size());
}

// The tagged photos as `eval worn` reads them: photos.csv's order, none of them annotated per pixel.
TEST(CcpTagged, ReadInTheFilesOrderNoneAnnotated) {
  MYSTYLE_REQUIRE_DATASET(root, "ccp");
  const std::vector<CcpTagged> all = load_ccp_tagged(root);
  ASSERT_EQ(all.size(), 1094U);
  std::set<std::string> annotated;
  for (const CcpPhoto& p : load_ccp(root).annotated) annotated.insert(p.id);
  for (const CcpTagged& t : all) {
    EXPECT_FALSE(annotated.contains(t.id)) << t.id;
    EXPECT_FALSE(t.tags.empty()) << t.id;
  }
  // The first as photos.csv lists it.
  EXPECT_EQ(all.front().id, "1005");
  EXPECT_EQ(all.front().tags,
            (std::vector<std::string>{"blouse", "bracelet", "earrings", "hair", "heels", "skin", "skirt", "sunglasses"}));
}

TEST(CcpData, AValidationRunNeverReadsAHeldOutPhoto) {
  MYSTYLE_REQUIRE_DATASET(root, "ccp");
  const ParseData full = load_parse_data(root, 1, 0);
  const ParseData data = load_parse_data(root, 1, 0, /*validation=*/true);
  EXPECT_TRUE(data.validation);
  std::set<std::string> training_photos, train;
  for (const auto& p : full.train) training_photos.insert(p.id);
  for (const auto& p : data.train) {
    EXPECT_TRUE(training_photos.contains(p.id)) << p.id;
    EXPECT_FALSE(ccp_validation(p.id, 1)) << p.id;
    train.insert(p.id);
  }
  for (const auto& p : data.held_out) {  // the validation photos
    EXPECT_TRUE(training_photos.contains(p.id)) << p.id << " is not a training photo";
    EXPECT_TRUE(ccp_validation(p.id, 1)) << p.id;
    EXPECT_FALSE(train.contains(p.id)) << p.id;
  }
  EXPECT_EQ(data.train.size() + data.held_out.size(), full.train.size());
  EXPECT_NEAR(static_cast<double>(data.held_out.size()) / full.train.size(), 0.2, 0.05);
}

TEST(CcpData, AValidationRunLeavesTheServedModelAlone) {
  MYSTYLE_REQUIRE_DATASET(root, "ccp");
  testing::TempDir ws;  // no catalog: CCP alone
  TrainOptions options;
  options.model = "parse";
  options.validation_run = true;
  options.epochs = 1;
  options.max_items = 4;
  options.threads = 1;
  const TrainSummary s = train(engine::Workspace(ws.path()), options,
                               Option::kEpochs | Option::kMaxItems | Option::kThreads | Option::kValidationRun);
  const engine::Workspace w(ws.path());
  EXPECT_TRUE(std::filesystem::exists(w.model_file("parse-validation")));
  EXPECT_FALSE(std::filesystem::exists(w.model_file("parse"))) << "a validation run replaced the served parser";
  const auto doc = nlohmann::json::parse(s.json);
  EXPECT_TRUE(doc.at("validation_run").get<bool>());
  EXPECT_EQ(doc.at("held_out_photos").get<std::size_t>(), 4U);
}

TEST(CcpData, MalformedFilesAreNamed) {
  testing::TempDir dir;
  testing::write_file(dir / "labels.csv", "label,name\n0,null\nx,skin\n");
  testing::write_file(dir / "photos.csv", "photo,annotation,tags\n");
  try {
    load_ccp(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("labels.csv:3"), std::string::npos) << e.what();
  }
  testing::write_file(dir / "labels.csv", "label,name\n0,null\n1,skin\n");
  testing::write_file(dir / "photos.csv", "photo,annotation,tags\n0007,pixel,skin\n");
  try {
    load_ccp(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0007.jpg"), std::string::npos) << e.what();
  }
  testing::write_file(dir / "labels.csv", "label,name\n0,null\n1,spacesuit\n");
  EXPECT_THROW(load_ccp(dir.path()), Error);
}

// Hand-counted: truth has 4 background, 2 top, 2 bottom pixels; the prediction gets one top wrong
// (as bottom) and one background wrong (as top).
TEST(ParseConfusion, IouAsCountedByHand) {
  const auto B = static_cast<std::uint8_t>(ParseClass::kBackground),
             T = static_cast<std::uint8_t>(ParseClass::kTop),
             L = static_cast<std::uint8_t>(ParseClass::kBottom);
  const cv::Mat truth = (cv::Mat_<std::uint8_t>(2, 4) << B, B, B, B, T, T, L, L);
  const cv::Mat predicted = (cv::Mat_<std::uint8_t>(2, 4) << B, B, B, T, T, L, L, L);
  ParseConfusion c;
  c.add(predicted, truth);
  EXPECT_DOUBLE_EQ(c.iou(B), 3.0 / 4.0);  // 3 right, 1 missed
  EXPECT_DOUBLE_EQ(c.iou(T), 1.0 / 3.0);  // 1 right, 1 extra, 1 missed
  EXPECT_DOUBLE_EQ(c.iou(L), 2.0 / 3.0);  // 2 right, 1 extra
  EXPECT_DOUBLE_EQ(c.garment_miou(), (1.0 / 3.0 + 2.0 / 3.0) / 2);
  EXPECT_DOUBLE_EQ(c.foreground_iou(), 4.0 / 5.0);  // person pixels: 4 true, 5 predicted, 4 shared
  EXPECT_DOUBLE_EQ(c.pixel_accuracy(), 6.0 / 8.0);
  EXPECT_THROW(c.add(predicted, cv::Mat::zeros(3, 3, CV_8UC1)), Error);
}

TEST(ClassesFromLogits, ScalesAndPicksTheLargest) {
  const int side = 2;
  std::vector<float> logits(engine::kParseClasses * side * side, 0.0f);
  // Left column: bottom wins; right column: shoes win.
  for (int y = 0; y < side; ++y) {
    logits[static_cast<std::size_t>(static_cast<int>(ParseClass::kBottom) * 4 + y * 2 + 0)] = 5.0f;
    logits[static_cast<std::size_t>(static_cast<int>(ParseClass::kShoes) * 4 + y * 2 + 1)] = 5.0f;
  }
  const cv::Mat classes = engine::classes_from_logits(logits, side, cv::Size(8, 6));
  ASSERT_EQ(classes.size(), cv::Size(8, 6));
  EXPECT_EQ(classes.at<std::uint8_t>(3, 0), static_cast<std::uint8_t>(ParseClass::kBottom));
  EXPECT_EQ(classes.at<std::uint8_t>(3, 7), static_cast<std::uint8_t>(ParseClass::kShoes));
}

}  // namespace
}  // namespace mystyle::train
