// engine/parser.h without a trained model: the pieces of a class map and Parser::open's error.
#include "mystyle/engine/parser.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/model_spec.h"

#include <nlohmann/json.hpp>
#include <random>
#include "support/test_support.h"

namespace mystyle::engine {
namespace {

cv::Mat class_map() {
  cv::Mat m = cv::Mat::zeros(100, 100, CV_8UC1);  // background
  m(cv::Rect(30, 10, 40, 80)).setTo(static_cast<int>(ParseClass::kPerson));
  m(cv::Rect(30, 20, 40, 30)).setTo(static_cast<int>(ParseClass::kTop));
  m(cv::Rect(25, 20, 6, 30)).setTo(static_cast<int>(ParseClass::kOuterwear));  // a sleeve each side
  m(cv::Rect(69, 20, 6, 30)).setTo(static_cast<int>(ParseClass::kOuterwear));
  m(cv::Rect(30, 50, 40, 35)).setTo(static_cast<int>(ParseClass::kBottom));
  m(cv::Rect(32, 88, 10, 6)).setTo(static_cast<int>(ParseClass::kShoes));  // two shoes: one piece
  m(cv::Rect(58, 88, 10, 6)).setTo(static_cast<int>(ParseClass::kShoes));
  m(cv::Rect(90, 90, 2, 2)).setTo(static_cast<int>(ParseClass::kBag));  // 4 pixels: noise
  return m;
}

TEST(ParsePieces, OnePiecePerGarmentClassLargestFirst) {
  const std::vector<ParsePiece> pieces = pieces_of(class_map());
  ASSERT_EQ(pieces.size(), 4U);  // bottom, top, outerwear, shoes; the 4-pixel bag is not a piece
  EXPECT_EQ(pieces[0].part, ParseClass::kBottom);
  EXPECT_EQ(pieces[0].slot, catalog::Slot::kBottom);
  EXPECT_EQ(pieces[0].pixels, 40 * 35);
  EXPECT_DOUBLE_EQ(pieces[0].share, 40.0 * 35 / 10000);
  EXPECT_EQ(pieces[0].box, cv::Rect(30, 50, 40, 35));
  EXPECT_EQ(pieces[1].part, ParseClass::kTop);
  EXPECT_EQ(pieces[1].slot, catalog::Slot::kInnerTop);  // outerwear is worn over it
  const ParsePiece& shoes = pieces[3];
  EXPECT_EQ(shoes.part, ParseClass::kShoes);
  EXPECT_EQ(shoes.pixels, 2 * 10 * 6);
  EXPECT_EQ(shoes.box, cv::Rect(32, 88, 36, 6));  // both shoes
  EXPECT_EQ(cv::countNonZero(shoes.mask), 120);
}

// The piece's pixels on the studio backdrop, cropped to its box and a tenth of its longer side.
TEST(ParsePieces, CutOutOnTheStudioBackdrop) {
  const cv::Mat classes = class_map();
  cv::Mat rgb(classes.size(), CV_8UC3, cv::Scalar(10, 200, 10));  // a green street
  rgb(cv::Rect(30, 50, 40, 35)).setTo(cv::Scalar(20, 40, 160));   // blue trousers
  const std::vector<ParsePiece> pieces = pieces_of(classes);
  const cv::Mat out = cut_out(rgb, pieces[0]);  // the bottom: box 30,50 40x35, margin 4
  ASSERT_EQ(out.size(), cv::Size(48, 43));
  EXPECT_EQ(out.at<cv::Vec3b>(20, 20), cv::Vec3b(20, 40, 160));  // inside: the photo's pixel
  EXPECT_EQ(out.at<cv::Vec3b>(1, 1), kStudioBackdrop);           // the margin: backdrop, not street
  EXPECT_THROW(cut_out(rgb(cv::Rect(0, 0, 50, 50)), pieces[0]), Error);
}

TEST(ParsePieces, NoGarmentNoPiece) {
  cv::Mat m = cv::Mat::zeros(50, 50, CV_8UC1);
  m(cv::Rect(10, 10, 20, 30)).setTo(static_cast<int>(ParseClass::kPerson));
  EXPECT_TRUE(pieces_of(m).empty());
}

// Coarse logits whose boundary misses the photo's edge: the guided class map moves the boundary onto
// the edge, the plain scaling keeps it where the coarse cells put it. The truth is the photo's own edge.
TEST(ParseClassMap, EdgesFromThePhotoFollowItsEdge) {
  const int side = 16, edge_x = 60;  // the cells put the boundary at x = 64 (8 of 16 cells); the photo at 60
  cv::Mat rgb(128, 128, CV_8UC3, cv::Scalar(200, 40, 40));                     // a red top on the left ...
  rgb(cv::Rect(edge_x, 0, 128 - edge_x, 128)).setTo(cv::Scalar(30, 60, 190));  // ... blue trousers right
  std::vector<float> logits(static_cast<std::size_t>(kParseClasses * side * side), 0.0f);
  const auto plane = static_cast<std::size_t>(side * side);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      const auto c = static_cast<std::size_t>(x < side / 2 ? ParseClass::kTop : ParseClass::kBottom);
      logits[c * plane + static_cast<std::size_t>(y * side + x)] = 3.0f;
    }
  }
  const cv::Mat plain = classes_from_logits(logits, side, rgb.size());
  const cv::Mat refined = refined_classes_from_logits(logits, side, rgb);
  ASSERT_EQ(refined.size(), rgb.size());
  ASSERT_EQ(refined.type(), CV_8UC1);
  cv::Mat truth(rgb.size(), CV_8UC1, cv::Scalar(static_cast<int>(ParseClass::kBottom)));
  truth(cv::Rect(0, 0, edge_x, 128)).setTo(static_cast<int>(ParseClass::kTop));
  const int plain_wrong = cv::countNonZero(plain != truth),
            refined_wrong = cv::countNonZero(refined != truth);
  EXPECT_EQ(plain_wrong, 4 * 128);    // the 4 columns between the photo's edge and the cells'
  EXPECT_LE(refined_wrong, 1 * 128);  // at most one column off the photo's edge
  // Far from the edge both keep the logits' class; no class the logits do not give appears.
  EXPECT_EQ(refined.at<std::uint8_t>(64, 10), static_cast<int>(ParseClass::kTop));
  EXPECT_EQ(refined.at<std::uint8_t>(64, 120), static_cast<int>(ParseClass::kBottom));
  EXPECT_EQ(cv::countNonZero((refined != static_cast<int>(ParseClass::kTop)) &
                             (refined != static_cast<int>(ParseClass::kBottom))),
            0);
  EXPECT_THROW(refined_classes_from_logits(std::span(logits).first(10), side, rgb), Error);
}

TEST(ParseInput, PositionPlanesFollowThePhotoRowsAndColumns) {
  cv::Mat rgb(60, 40, CV_8UC3, cv::Scalar(10, 128, 250));
  const int side = 8;
  const auto plane = static_cast<std::size_t>(side * side);
  std::vector<float> plain(3 * plane), with(kParseInputWithPosition * plane);
  parse_input(rgb, side, 3, plain);
  parse_input(rgb, side, kParseInputWithPosition, with);
  for (std::size_t i = 0; i < 3 * plane; ++i)
    ASSERT_FLOAT_EQ(with[i], plain[i]) << i;  // the photo, as before
  EXPECT_NEAR(plain[0], 10.0f / 255.0f, 1e-6f);
  EXPECT_NEAR(plain[2 * plane], 250.0f / 255.0f, 1e-6f);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      const auto i = static_cast<std::size_t>(y * side + x);
      // Cell centres from -1 to 1: (2k + 1) / side - 1.
      EXPECT_NEAR(with[3 * plane + i], (2.0 * y + 1) / side - 1, 1e-6) << y;
      EXPECT_NEAR(with[4 * plane + i], (2.0 * x + 1) / side - 1, 1e-6) << x;
      for (int c = 5; c < kParseInputWithPosition; ++c) EXPECT_EQ(with[static_cast<std::size_t>(c) * plane + i], 0.0f);
    }
  }
  EXPECT_NEAR(with[3 * plane], -0.875, 1e-6);     // top row
  EXPECT_NEAR(with[4 * plane - 1], 0.875, 1e-6);  // bottom row
  EXPECT_THROW(parse_input(rgb, side, 4, with), Error);
  EXPECT_THROW(parse_input(rgb, side, kParseInputWithPosition, plain), Error);
}

TEST(Parser, OpenWithoutAModelNamesTheTrainingCommand) {
  testing::TempDir ws;
  try {
    Parser::open(Workspace(ws.path()));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mystyle train --model parse"), std::string::npos) << e.what();
  }
}

// The piece rule recovers a known logistic law: samples drawn with P(right) = sigma(b + w_c c + w_s ln s)
// give back weights near (b, w_c, w_s); a class with too few samples, or all right, gets none (and is
// taken as right).
TEST(PieceRule, FitRecoversTheLawItWasDrawnFrom) {
  const std::array<double, 3> law = {-2.0, 6.0, 0.5};
  const auto sigma = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> conf(0.2, 1.0), log_share(std::log(0.004), std::log(0.3)), u(0, 1);
  std::vector<PieceSample> samples;
  for (int i = 0; i < 20000; ++i) {
    const double c = conf(rng), s = std::exp(log_share(rng));
    samples.push_back({ParseClass::kBottom, c, s, u(rng) < sigma(law[0] + law[1] * c + law[2] * std::log(s))});
  }
  for (int i = 0; i < 100; ++i) samples.push_back({ParseClass::kShoes, 0.9, 0.01, true});  // all right
  for (int i = 0; i < 5; ++i) samples.push_back({ParseClass::kBag, 0.5, 0.01, i % 2 == 0});  // too few
  const PieceRule rule = fit_piece_rule(samples);
  ASSERT_TRUE(rule.weights[static_cast<std::size_t>(ParseClass::kBottom)].has_value());
  const auto& w = *rule.weights[static_cast<std::size_t>(ParseClass::kBottom)];
  EXPECT_NEAR(w[0], law[0], 0.3);
  EXPECT_NEAR(w[1], law[1], 0.4);
  EXPECT_NEAR(w[2], law[2], 0.1);
  EXPECT_NEAR(rule.likelihood(ParseClass::kBottom, 0.5, 0.05), sigma(law[0] + law[1] * 0.5 + law[2] * std::log(0.05)),
              0.03);
  EXPECT_FALSE(rule.weights[static_cast<std::size_t>(ParseClass::kShoes)].has_value());
  EXPECT_FALSE(rule.weights[static_cast<std::size_t>(ParseClass::kBag)].has_value());
  EXPECT_EQ(rule.likelihood(ParseClass::kShoes, 0.1, 0.001), 1.0);

  // Its JSON round trip, and a malformed rule named by file and field.
  const PieceRule back = PieceRule::from_json(rule.to_json(), "parse.pieces.json");
  EXPECT_EQ(back.weights, rule.weights);
  nlohmann::json bad = rule.to_json();
  bad["weights"]["bottom"] = {1.0, 2.0};
  try {
    PieceRule::from_json(bad, "parse.pieces.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("parse.pieces.json: field 'weights.bottom'"), std::string::npos) << e.what();
  }
  bad["weights"] = {{"trousers", {1.0, 2.0, 3.0}}};
  EXPECT_THROW(PieceRule::from_json(bad, "parse.pieces.json"), Error);
}

// A parser uses the rule written with its own model, and ignores one written with another.
TEST(Parser, UsesOnlyItsOwnModelsPieceRule) {
  testing::TempDir ws;
  const Workspace w(ws.path());
  std::filesystem::create_directories(w.model_file("parse").parent_path());
  nn::Model model(nn::builtin_model_spec("parse"), 1);
  nn::save_model(w.model_file("parse"), model);
  PieceRule rule;
  rule.weights[static_cast<std::size_t>(ParseClass::kTop)] = std::array<double, 3>{-50.0, 0.0, 0.0};
  nlohmann::json doc = rule.to_json();
  doc["model_digest"] = fmt::format("{:016x}", model_file_digest(w.model_file("parse")));
  write_file_atomic(piece_rule_file(w.model_file("parse")), doc.dump());
  EXPECT_EQ(piece_rule_file(w.model_file("parse")).filename(), "parse.pieces.json");
  auto parser = Parser::open(w);
  ASSERT_TRUE(parser->piece_rule().has_value());
  EXPECT_LT(parser->piece_rule()->likelihood(ParseClass::kTop, 0.9, 0.1), 1e-10);

  doc["model_digest"] = "0000000000000000";
  write_file_atomic(piece_rule_file(w.model_file("parse")), doc.dump());
  EXPECT_FALSE(Parser::open(w)->piece_rule().has_value());
}

}  // namespace
}  // namespace mystyle::engine
