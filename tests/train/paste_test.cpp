// MANGO studio garments for the parser (train/paste.h): an item's parse class, its mask cut from the
// studio backdrop, the garment pasted over the person's region of its class, and the job's catalog
// garments, whose held-out designs never reach training. Small synthetic images throughout.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/train/parse_job.h"
#include "mystyle/train/paste.h"
#include "support/test_support.h"

namespace mystyle::train {
namespace {

using catalog::Slot;
using engine::ParseClass;

catalog::Item item_of(Slot slot, std::string category, std::string family, std::string type) {
  catalog::Item item;
  item.slot = slot;
  item.category = std::move(category);
  item.family = std::move(family);
  item.type = std::move(type);
  return item;
}

TEST(PasteClasses, SlotsAndCategoriesGiveParseClasses) {
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kMainTop, "Tops", "T-shirt", "T-Shirt")), ParseClass::kTop);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kMainTop, "Outerwear", "Coats", "Coat")), ParseClass::kOuterwear);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kMainTop, "Tops", "Cardigans", "Cardigan")), ParseClass::kOuterwear);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kInnerTop, "Tops", "Shirt", "Shirt")), ParseClass::kTop);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kBottom, "Bottoms", "Jeans", "Jeans")), ParseClass::kBottom);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kDress, "Dresses", "Jumpsuit", "Jumpsuit")), ParseClass::kDress);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kShoes, "Accesories", "Footwear", "Boots")), ParseClass::kShoes);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kBag, "Accesories", "Bags", "Handbag")), ParseClass::kBag);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kHat, "Accesories", "Hats", "Beanie")), ParseClass::kAccessory);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kAccessory, "Accesories", "Jewellery", "Earrings")),
            ParseClass::kAccessory);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kAccessory, "Accesories", "Gadgets", "Umbrella")), std::nullopt);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kIntimate, "Accesories", "Intimate", "Socks")), ParseClass::kLegwear);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kIntimate, "Accesories", "Intimate", "Pyjama")), std::nullopt);
  EXPECT_EQ(parse_class_of_item(item_of(Slot::kOther, "Home", "Bedding", "Quilt")), std::nullopt);
}

/// A studio photo: MANGO's backdrop, a little darker towards the bottom, with a garment drawn by `draw`.
cv::Mat studio(int w, int h) {
  cv::Mat rgb(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) rgb.row(y).setTo(cv::Scalar(236 - y / 10, 235 - y / 10, 233 - y / 10));
  return rgb;
}

TEST(PasteMask, TheGarmentAgainstTheBackdrop) {
  cv::Mat rgb = studio(80, 120);
  cv::rectangle(rgb, cv::Rect(20, 30, 40, 50), cv::Scalar(40, 60, 160), cv::FILLED);
  // A white print inside the garment, lighter than the backdrop: still the garment.
  cv::rectangle(rgb, cv::Rect(32, 45, 12, 12), cv::Scalar(255, 255, 255), cv::FILLED);
  const cv::Mat mask = studio_garment_mask(rgb);
  ASSERT_EQ(mask.size(), rgb.size());
  ASSERT_EQ(mask.type(), CV_8UC1);
  const cv::Rect box = cv::boundingRect(mask);
  EXPECT_LE(std::abs(box.x - 20), 1);
  EXPECT_LE(std::abs(box.y - 30), 1);
  EXPECT_LE(std::abs(box.width - 40), 2);
  EXPECT_LE(std::abs(box.height - 50), 2);
  EXPECT_EQ(mask.at<std::uint8_t>(50, 38), 255);  // the print
  EXPECT_EQ(mask.at<std::uint8_t>(5, 5), 0);
  EXPECT_NEAR(cv::countNonZero(mask), 40 * 50, 40 * 50 * 0.1);
}

TEST(PasteMask, TheBackdropInsideABagsHandleIsBackdrop) {
  cv::Mat rgb = studio(80, 120);
  cv::rectangle(rgb, cv::Rect(15, 60, 50, 40), cv::Scalar(30, 30, 30), cv::FILLED);  // the bag
  cv::rectangle(rgb, cv::Rect(25, 25, 30, 36), cv::Scalar(30, 30, 30), 3);           // its handle
  const cv::Mat mask = studio_garment_mask(rgb);
  EXPECT_EQ(mask.at<std::uint8_t>(80, 40), 255);  // the bag
  EXPECT_EQ(mask.at<std::uint8_t>(26, 40), 255);  // the handle
  EXPECT_EQ(mask.at<std::uint8_t>(42, 40), 0);    // inside the handle: the backdrop
}

TEST(PasteMask, TwoShoesStayAndSpecksGo) {
  cv::Mat rgb = studio(100, 60);
  cv::rectangle(rgb, cv::Rect(10, 20, 30, 20), cv::Scalar(20, 20, 20), cv::FILLED);
  cv::rectangle(rgb, cv::Rect(55, 22, 30, 18), cv::Scalar(20, 20, 20), cv::FILLED);
  cv::rectangle(rgb, cv::Rect(90, 5, 2, 2), cv::Scalar(20, 20, 20), cv::FILLED);  // dust
  const cv::Mat mask = studio_garment_mask(rgb);
  EXPECT_EQ(mask.at<std::uint8_t>(30, 25), 255);
  EXPECT_EQ(mask.at<std::uint8_t>(30, 70), 255);
  EXPECT_EQ(mask.at<std::uint8_t>(6, 91), 0);
}

TEST(PasteMask, NoGarmentIsAnEmptyMask) {
  EXPECT_EQ(cv::countNonZero(studio_garment_mask(studio(50, 70))), 0);
  cv::Mat busy(70, 50, CV_8UC3);
  cv::randu(busy, cv::Scalar::all(0), cv::Scalar::all(255));  // not a studio photo: garment everywhere
  EXPECT_EQ(cv::countNonZero(studio_garment_mask(busy)), 0);
  EXPECT_THROW(studio_garment_mask(cv::Mat()), Error);
}

/// A 100x200 person: grey skin from row 20 to 190, a top (rows 50-89), a bottom (rows 95-159) and two
/// shoes (rows 180-189), on a green background.
struct Person {
  cv::Mat rgb, classes;
};
Person person() {
  Person p{cv::Mat(200, 100, CV_8UC3, cv::Scalar(30, 160, 30)), cv::Mat::zeros(200, 100, CV_8UC1)};
  const auto put = [&](const cv::Rect& r, ParseClass c, const cv::Scalar& colour) {
    p.rgb(r).setTo(colour);
    p.classes(r).setTo(static_cast<int>(c));
  };
  put(cv::Rect(30, 20, 40, 170), ParseClass::kPerson, cv::Scalar(200, 170, 150));
  put(cv::Rect(28, 50, 44, 40), ParseClass::kTop, cv::Scalar(250, 250, 250));
  put(cv::Rect(30, 95, 40, 65), ParseClass::kBottom, cv::Scalar(20, 20, 120));
  put(cv::Rect(30, 180, 16, 10), ParseClass::kShoes, cv::Scalar(10, 10, 10));
  put(cv::Rect(54, 180, 16, 10), ParseClass::kShoes, cv::Scalar(10, 10, 10));
  return p;
}

/// A red garment 30x30 on a 60x60 studio photo, and its mask.
std::pair<cv::Mat, cv::Mat> red_garment() {
  cv::Mat rgb = studio(60, 60), mask = cv::Mat::zeros(60, 60, CV_8UC1);
  const cv::Rect r(15, 15, 30, 30);
  rgb(r).setTo(cv::Scalar(220, 0, 0));
  mask(r).setTo(255);
  return {rgb, mask};
}

double iou(const cv::Rect& a, const cv::Rect& b) {
  return static_cast<double>((a & b).area()) / static_cast<double>((a | b).area());
}

TEST(PasteGarment, ATopGoesOverTheTopAndIsLabelledTop) {
  const Person p = person();
  const auto [g, m] = red_garment();
  nn::Rng rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const PastedPhoto out = paste_garment(p.rgb, p.classes, g, m, ParseClass::kTop, rng);
    ASSERT_EQ(out.rgb.size(), p.rgb.size());
    ASSERT_EQ(out.classes.size(), p.classes.size());
    EXPECT_GT(iou(out.box, cv::Rect(28, 50, 44, 40)), 0.5) << trial;
    int pasted = 0;
    for (int y = 0; y < 200; ++y) {
      for (int x = 0; x < 100; ++x) {
        const bool changed = out.classes.at<std::uint8_t>(y, x) != p.classes.at<std::uint8_t>(y, x) ||
                             out.rgb.at<cv::Vec3b>(y, x) != p.rgb.at<cv::Vec3b>(y, x);
        if (!changed) continue;
        ++pasted;
        ASSERT_TRUE(out.box.contains(cv::Point(x, y)));  // nothing changes outside the paste
        ASSERT_EQ(out.classes.at<std::uint8_t>(y, x), static_cast<int>(ParseClass::kTop));
        ASSERT_EQ(out.rgb.at<cv::Vec3b>(y, x), cv::Vec3b(220, 0, 0));  // the garment's own pixels
      }
    }
    EXPECT_GT(pasted, 1000);
  }
}

TEST(PasteGarment, ShoesGoOnBothFeetAndABottomBelowTheWaist) {
  const Person p = person();
  const auto [g, m] = red_garment();
  nn::Rng rng(3);
  const PastedPhoto shoes = paste_garment(p.rgb, p.classes, g, m, ParseClass::kShoes, rng);
  const auto red_at = [&](const PastedPhoto& out, int x, int y) {
    return out.classes.at<std::uint8_t>(y, x) == static_cast<int>(ParseClass::kShoes) &&
           out.rgb.at<cv::Vec3b>(y, x) == cv::Vec3b(220, 0, 0);
  };
  EXPECT_TRUE(red_at(shoes, 38, 185));
  EXPECT_TRUE(red_at(shoes, 62, 185));
  EXPECT_GT(shoes.box.y, 150);
  const PastedPhoto bottom = paste_garment(p.rgb, p.classes, g, m, ParseClass::kBottom, rng);
  EXPECT_GT(iou(bottom.box, cv::Rect(30, 95, 40, 65)), 0.5);
  // A dress where top and bottom are: fitted into both, hung from the shoulders.
  const PastedPhoto dress = paste_garment(p.rgb, p.classes, g, m, ParseClass::kDress, rng);
  const cv::Rect worn(28, 50, 44, 110);
  EXPECT_GT((dress.box & worn).area(), 0.8 * dress.box.area());
  EXPECT_GT(dress.box.width, 35);
  EXPECT_NEAR(dress.box.y, 50, 8);
  // A bag the person does not carry: at a hip, on the person's side.
  const PastedPhoto bag = paste_garment(p.rgb, p.classes, g, m, ParseClass::kBag, rng);
  EXPECT_GT(bag.box.area(), 0);
  EXPECT_GT(bag.box.x + bag.box.width / 2, 50);
}

TEST(PasteGarment, NothingToPasteOrNoOneToPasteOn) {
  const Person p = person();
  const auto [g, m] = red_garment();
  nn::Rng rng(1);
  const PastedPhoto no_mask = paste_garment(p.rgb, p.classes, g, cv::Mat::zeros(m.size(), CV_8UC1),
                                            ParseClass::kTop, rng);
  EXPECT_TRUE(no_mask.box.empty());
  EXPECT_EQ(cv::countNonZero(no_mask.classes != p.classes), 0);
  const cv::Mat nobody = cv::Mat::zeros(p.classes.size(), CV_8UC1);
  EXPECT_TRUE(paste_garment(p.rgb, nobody, g, m, ParseClass::kTop, rng).box.empty());
  EXPECT_TRUE(paste_garment(p.rgb, p.classes, g, m, ParseClass::kPerson, rng).box.empty());
  EXPECT_THROW(paste_garment(p.rgb, p.classes(cv::Rect(0, 0, 50, 50)).clone(), g, m, ParseClass::kTop, rng), Error);
  EXPECT_THROW(paste_garment(p.rgb, p.classes, g, m(cv::Rect(0, 0, 10, 10)).clone(), ParseClass::kTop, rng), Error);
}

// The job's catalog garments: training designs only in `train`, held-out designs only in `held_out`.
TEST(PasteCatalog, NoHeldOutDesignReachesTraining) {
  testing::TempDir dir;
  {
    catalog::Catalog cat(dir.path());
    cv::Mat rgb = studio(60, 80);
    cv::rectangle(rgb, cv::Rect(15, 20, 30, 40), cv::Scalar(90, 30, 30), cv::FILLED);
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    const auto photo = dir / "garment.png";
    ASSERT_TRUE(cv::imwrite(photo.string(), bgr));
    for (int i = 0; i < 60; ++i) {
      catalog::Item item = item_of(i % 2 == 0 ? Slot::kBottom : Slot::kMainTop, "Bottoms", "Jeans", "Jeans");
      item.source = "mango";
      item.source_id = fmt::format("{:08}-{:02}", 1000 + i, i % 3);
      item.name = "piece";
      item.image_path = photo.string();
      cat.add_item(item);
    }
  }
  const CatalogGarments g = load_catalog_garments(dir.path(), 1, 100, 100, 1);
  ASSERT_FALSE(g.train.empty());
  ASSERT_FALSE(g.held_out.empty());
  EXPECT_EQ(g.train.size() + g.held_out.size(), 60U);
  catalog::Catalog cat(dir.path());
  for (const auto& s : g.train) {
    const auto item = cat.find_item(s.item_id);
    ASSERT_TRUE(item);
    EXPECT_FALSE(catalog::is_held_out_design(*item, 1)) << s.design;
    EXPECT_GT(cv::countNonZero(s.mask), 0);
  }
  for (const auto& s : g.held_out) EXPECT_TRUE(catalog::is_held_out_design(*cat.find_item(s.item_id), 1));
  // At most per_class of each class.
  EXPECT_LE(load_catalog_garments(dir.path(), 1, 5, 0, 1).train.size(), 10U);

  testing::TempDir empty;
  const CatalogGarments none = load_catalog_garments(empty.path(), 1, 100, 100, 1);
  EXPECT_TRUE(none.train.empty());
  EXPECT_FALSE(none.note.empty());
  EXPECT_FALSE(std::filesystem::exists(empty / catalog::Catalog::kFileName));  // not created
}

}  // namespace
}  // namespace mystyle::train
