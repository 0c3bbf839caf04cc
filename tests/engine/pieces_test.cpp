// engine/pieces.h: a studio photo stays one piece with exactly the recommender's answer; a person's
// pieces (from a class map: CCP's own labels, so the test does not depend on how well a parser is
// trained) are each searched among their slot's items; the choice of piece; a piece the catalog does
// not sell.
#include "mystyle/engine/pieces.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "colour_reference.h"
#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/import.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/image/skin.h"
#include "mystyle/nn/model_file.h"
#include "mystyle/nn/model_spec.h"
#include "mystyle/train/ccp.h"
#include "mystyle/train/family.h"
#include "support/mango_workspace.h"
#include "support/test_support.h"

namespace mystyle::engine {
namespace {

using namespace ::mystyle::train;

/// 300 MANGO products with their outfits, seed64 trained one epoch; no intimate wear in the catalog (so
/// a worn legwear piece is one the catalog does not sell). A second workspace adds an (untrained) parser.
class PiecesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ws_ = new testing::TempDir();
    const auto ccp = testing::dataset_path("ccp/labels.csv");
    if (ccp.empty()) return;
    const bool made = testing::make_seed64_mango_workspace(ws_->path(), [](catalog::Catalog& cat) {
      cat.db().exec("DELETE FROM outfit_items WHERE item_id IN (SELECT id FROM items WHERE slot = 'intimate')");
      cat.db().exec("DELETE FROM outfits WHERE id NOT IN (SELECT outfit_id FROM outfit_items)");
      cat.db().exec("DELETE FROM items WHERE slot = 'intimate'");
    });
    if (!made) return;
    ccp_ = new CcpSet(load_ccp(ccp.parent_path()));
    ready_ = true;
  }
  static void TearDownTestSuite() {
    delete ccp_;
    delete ws_;
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "MANGO or CCP data set absent";
    RecommenderConfig c;
    c.model = "seed64";
    rec_ = Recommender::open(Workspace(ws_->path()), c);
  }
  /// A MANGO photo of the catalog with no skin colour in it (a studio garment alone).
  cv::Mat studio_photo(std::string* name) const {
    for (const auto& item : rec_->graph().items()) {
      if (!item.image_path) continue;
      const std::string bytes = read_file_bytes(*item.image_path);
      const cv::Mat rgb = rec_->decode({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                       *item.image_path);
      if (!image::skin_test(rgb).may_show_person()) {
        *name = *item.image_path;
        return rgb;
      }
    }
    return {};
  }
  /// A held-out CCP photo with its labels as a parse (top, bottom or dress, and shoes at least).
  ParsedPhoto worn_photo() const {
    for (const auto& p : ccp_->annotated) {
      if (!ccp_held_out(p.id, 1)) continue;
      ParsedPhoto photo = load_parsed_photo(*ccp_, p);
      const auto has = [&](ParseClass c) { return cv::countNonZero(photo.classes == static_cast<int>(c)) > 500; };
      if (has(ParseClass::kShoes) && has(ParseClass::kLegwear) && (has(ParseClass::kBottom) || has(ParseClass::kDress))) {
        return photo;
      }
    }
    return {};
  }
  static ParseResult as_parse(const ParsedPhoto& photo) {
    ParseResult parse;
    parse.classes = photo.classes;
    parse.pieces = pieces_of(photo.classes);
    return parse;
  }
  static inline testing::TempDir* ws_ = nullptr;
  static inline CcpSet* ccp_ = nullptr;
  static inline bool ready_ = false;
  std::unique_ptr<Recommender> rec_;
};

TEST_F(PiecesTest, StudioPhotoIsOnePieceWithTheRecommendersAnswer) {
  std::string name;
  const cv::Mat rgb = studio_photo(&name);
  ASSERT_FALSE(rgb.empty());
  RecommendRequest request;
  const RecommendResult direct = rec_->recommend(rgb, name, request);
  // With a parser in the workspace too: the skin test keeps the photo from it.
  testing::TempDir with_parser;
  std::filesystem::copy(ws_->path(), with_parser.path(), std::filesystem::copy_options::recursive);
  nn::Model parse_model(nn::builtin_model_spec("parse"), 1);
  nn::save_model(Workspace(with_parser.path()).model_file("parse"), parse_model);
  for (const auto& root : {ws_->path(), with_parser.path()}) {
    auto rec = Recommender::open(Workspace(root), rec_->config());
    auto search = PieceSearch::open(Workspace(root), *rec);
    EXPECT_EQ(search->has_parser(), root == with_parser.path());
    const PiecesResult r = search->find(rgb, name, request);
    EXPECT_FALSE(r.worn);
    EXPECT_FALSE(r.parsed);
    ASSERT_EQ(r.pieces.size(), 1U);
    ASSERT_EQ(r.chosen, 0U);
    const RecommendResult& top = *r.top();
    ASSERT_EQ(top.similar.size(), direct.similar.size());
    for (std::size_t i = 0; i < direct.similar.size(); ++i) {
      EXPECT_EQ(top.similar[i].item->id, direct.similar[i].item->id);
      EXPECT_EQ(top.similar[i].score, direct.similar[i].score);
    }
    ASSERT_EQ(top.outfits.size(), direct.outfits.size());
    for (std::size_t i = 0; i < direct.outfits.size(); ++i)
      EXPECT_EQ(top.outfits[i].outfit_id, direct.outfits[i].outfit_id);
    // The JSON keeps today's top-level fields and lists the one piece.
    const nlohmann::json doc = search->to_json(r, request);
    EXPECT_EQ(doc["similar"], rec->to_json(direct, request)["similar"]);
    EXPECT_FALSE(doc["worn"].get<bool>());
    ASSERT_EQ(doc["pieces"].size(), 1U);
    EXPECT_TRUE(doc["pieces"][0]["class"].is_null());
    // A garment alone has no piece 2 nor a piece of a class.
    EXPECT_THROW(search->find(rgb, name, request, PieceChoice::parse("2")), Error);
    EXPECT_THROW(search->find(rgb, name, request, PieceChoice::parse("shoes")), Error);
  }
}

TEST_F(PiecesTest, EachWornPieceIsSearchedInItsSlot) {
  const ParsedPhoto photo = worn_photo();
  ASSERT_FALSE(photo.rgb.empty()) << "no held-out CCP photo with shoes, legwear and a bottom or dress";
  auto search = PieceSearch::open(Workspace(ws_->path()), *rec_);
  RecommendRequest request;
  const PiecesResult r = search->search_parsed(photo.rgb, photo.id, request, as_parse(photo));
  ASSERT_TRUE(r.worn);
  ASSERT_GE(r.pieces.size(), 3U);
  ASSERT_TRUE(r.chosen.has_value());
  std::size_t largest_sold = r.pieces.size();
  for (std::size_t i = 0; i < r.pieces.size(); ++i) {
    const PhotoPiece& p = r.pieces[i];
    if (i > 0) {
      EXPECT_GE(r.pieces[i - 1].region.pixels, p.region.pixels);  // largest first
    }
    ASSERT_TRUE(p.region.slot.has_value());
    EXPECT_NE(*p.region.slot, catalog::Slot::kInnerTop) << "MANGO sells every top as main_top";
    if (p.region.part == ParseClass::kLegwear) {
      EXPECT_FALSE(p.sold) << "the test catalog sells no intimate wear";
      EXPECT_TRUE(p.match.similar.empty());
      continue;
    }
    EXPECT_TRUE(p.sold);
    if (largest_sold == r.pieces.size()) largest_sold = i;
    ASSERT_FALSE(p.match.similar.empty());
    for (const SimilarResult& s : p.match.similar) EXPECT_EQ(s.item->slot, *p.region.slot);
    EXPECT_EQ(p.match.query_slot, p.region.slot);
    // The cut-out is the piece's box and margin, on the backdrop outside the mask.
    EXPECT_GE(p.cutout.cols, p.region.box.width);
    EXPECT_GE(p.cutout.rows, p.region.box.height);
  }
  EXPECT_EQ(*r.chosen, largest_sold);

  // Choosing the shoes by class, then by number.
  const PiecesResult shoes = search->search_parsed(photo.rgb, photo.id, request, as_parse(photo),
                                                   PieceChoice::parse("shoes"));
  ASSERT_TRUE(shoes.chosen.has_value());
  EXPECT_EQ(shoes.pieces[*shoes.chosen].region.part, ParseClass::kShoes);
  for (const SimilarResult& s : shoes.top()->similar) EXPECT_EQ(s.item->slot, catalog::Slot::kShoes);
  const PiecesResult by_number = search->search_parsed(photo.rgb, photo.id, request, as_parse(photo),
                                                       PieceChoice::parse(std::to_string(*shoes.chosen)));
  EXPECT_EQ(by_number.chosen, shoes.chosen);
  // A class the photo lacks, a number past the pieces, a piece not sold: errors that say so.
  std::string absent;
  for (int c = static_cast<int>(ParseClass::kTop); c < kParseClasses && absent.empty(); ++c) {
    if (std::ranges::none_of(r.pieces, [&](const PhotoPiece& p) { return static_cast<int>(p.region.part) == c; }))
      absent = kParseClassNames[static_cast<std::size_t>(c)];
  }
  ASSERT_FALSE(absent.empty());
  EXPECT_THROW(search->search_parsed(photo.rgb, photo.id, request, as_parse(photo), PieceChoice::parse(absent)),
               Error);
  EXPECT_THROW(search->search_parsed(photo.rgb, photo.id, request, as_parse(photo), PieceChoice::parse("99")),
               Error);
  EXPECT_THROW(search->search_parsed(photo.rgb, photo.id, request, as_parse(photo), PieceChoice::parse("legwear")),
               Error);
  EXPECT_THROW(PieceChoice::parse("person"), Error);
  EXPECT_THROW(PieceChoice::parse("trousers"), Error);

  // The JSON: the top-level answer is the chosen piece's, every piece with its outline and matches.
  const nlohmann::json doc = search->to_json(shoes, request);
  EXPECT_TRUE(doc["worn"].get<bool>());
  EXPECT_EQ(doc["piece"], *shoes.chosen);
  EXPECT_EQ(doc["query"]["slot"], "shoes");
  ASSERT_EQ(doc["pieces"].size(), shoes.pieces.size());
  for (const auto& p : doc["pieces"]) {
    EXPECT_FALSE(p["outline"].empty());
    EXPECT_EQ(p["similar"].empty(), !p["sold"].get<bool>());
  }
  EXPECT_EQ(doc["pieces"][*shoes.chosen]["similar"], doc["similar"]);
}

// A piece less likely than kMinPieceLikelihood to be right is listed as unsure, not searched, unless the
// caller names its class; with the limit at 0 it is an ordinary piece.
TEST_F(PiecesTest, AnUnsurePieceIsListedAndSearchedOnlyWhenNamed) {
  const ParsedPhoto photo = worn_photo();
  ASSERT_FALSE(photo.rgb.empty());
  ParseResult parse = as_parse(photo);
  for (ParsePiece& p : parse.pieces) {
    if (p.part == ParseClass::kShoes) p.likelihood = 0.2;
  }
  auto search = PieceSearch::open(Workspace(ws_->path()), *rec_);
  RecommendRequest request;
  const PiecesResult r = search->search_parsed(photo.rgb, photo.id, request, parse);
  EXPECT_TRUE(std::ranges::none_of(r.pieces, [](const PhotoPiece& p) { return p.region.part == ParseClass::kShoes; }));
  ASSERT_EQ(r.unsure.size(), 1U);
  EXPECT_EQ(r.unsure[0].part, ParseClass::kShoes);
  const nlohmann::json doc = search->to_json(r, request);
  ASSERT_EQ(doc["unsure_pieces"].size(), 1U);
  EXPECT_EQ(doc["unsure_pieces"][0]["class"], "shoes");
  EXPECT_DOUBLE_EQ(doc["unsure_pieces"][0]["likelihood"].get<double>(), 0.2);

  // Named, it is searched as any piece.
  const PiecesResult named = search->search_parsed(photo.rgb, photo.id, request, parse, PieceChoice::parse("shoes"));
  ASSERT_TRUE(named.chosen.has_value());
  EXPECT_EQ(named.pieces[*named.chosen].region.part, ParseClass::kShoes);
  EXPECT_TRUE(named.unsure.empty());
  ASSERT_FALSE(named.top()->similar.empty());
  for (const SimilarResult& s : named.top()->similar) EXPECT_EQ(s.item->slot, catalog::Slot::kShoes);

  search->set_min_likelihood(0);
  const PiecesResult all = search->search_parsed(photo.rgb, photo.id, request, parse);
  EXPECT_EQ(all.pieces.size(), r.pieces.size() + 1);
  EXPECT_TRUE(all.unsure.empty());
}

// A colour family holds for every worn piece: each sold piece's similar items are exactly its slot's
// exact ranking restricted to the family (brute force over the embeddings file, from the piece's code).
TEST_F(PiecesTest, AColourHoldsForEveryWornPiece) {
  const ParsedPhoto photo = worn_photo();
  ASSERT_FALSE(photo.rgb.empty());
  auto search = PieceSearch::open(Workspace(ws_->path()), *rec_);
  const Embeddings items = load_embeddings(Workspace(ws_->path()).embeddings_file("seed64", "flat"));
  RecommendRequest request;
  request.k = 8;
  request.colour_family = "black";
  const PiecesResult r = search->search_parsed(photo.rgb, photo.id, request, as_parse(photo));
  ASSERT_TRUE(r.worn);
  int searched = 0;
  for (const PhotoPiece& p : r.pieces) {
    if (!p.sold) continue;
    ++searched;
    const auto reference = testing::exact_ranking(p.match.embedding, items, nullptr, [&](std::int64_t id) {
      const catalog::Item* item = rec_->graph().item(id);
      return item != nullptr && item->slot == *p.region.slot && item->colour_family == "black";
    });
    ASSERT_EQ(p.match.similar.size(), std::min<std::size_t>(request.k, reference.size()));
    for (std::size_t i = 0; i < p.match.similar.size(); ++i) {
      EXPECT_EQ(p.match.similar[i].item->colour_family, "black");
      EXPECT_NEAR(p.match.similar[i].score, reference[i].score, 1e-5);
    }
  }
  EXPECT_GE(searched, 2);
  const nlohmann::json doc = search->to_json(r, request);
  EXPECT_EQ(doc["query"]["colour"], "black");
  for (const auto& p : doc["pieces"]) {
    for (const auto& s : p["similar"]) EXPECT_EQ(s["colour_family"], "black");
  }
}

TEST_F(PiecesTest, APersonWithNothingTheCatalogSellsGetsAClearAnswer) {
  const ParsedPhoto photo = worn_photo();
  ASSERT_FALSE(photo.rgb.empty());
  // Only the legwear left: everything else becomes skin.
  cv::Mat classes = photo.classes.clone();
  for (int c = static_cast<int>(ParseClass::kTop); c < kParseClasses; ++c) {
    if (c != static_cast<int>(ParseClass::kLegwear)) classes.setTo(static_cast<int>(ParseClass::kPerson), classes == c);
  }
  ParseResult parse;
  parse.classes = classes;
  parse.pieces = pieces_of(classes);
  auto search = PieceSearch::open(Workspace(ws_->path()), *rec_);
  const PiecesResult r = search->search_parsed(photo.rgb, photo.id, RecommendRequest{}, std::move(parse));
  EXPECT_TRUE(r.worn);
  EXPECT_FALSE(r.chosen.has_value());
  EXPECT_EQ(r.top(), nullptr);
  EXPECT_NE(r.note.find("no garment the catalog sells: legwear (intimate)"), std::string::npos) << r.note;
  const nlohmann::json doc = search->to_json(r, RecommendRequest{});
  EXPECT_TRUE(doc["similar"].empty());
  EXPECT_TRUE(doc["piece"].is_null());
  EXPECT_EQ(doc["note"], r.note);
}

}  // namespace
}  // namespace mystyle::engine
