// The compatibility model and "complete the look" on a small real workspace: the first MANGO
// outfits with all their products (real photos), a briefly trained style model, the compat model
// trained on the training designs' outfits. Checked against independent computations: the split
// recomputed from the design coin, pair scores recomputed from the network, the completer's pieces
// looked up in the catalog.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine_fixture.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/train/compat_job.h"
#include "mystyle/engine/completer.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/train/ccp.h"
#include "mystyle/train/family.h"
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace mystyle::engine {
namespace {

using namespace ::mystyle::train;  // the training wing: models trained for these tests

class CompatTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    if (!testing::import_mango_outfits_sample(dir_->path(), 120)) return;
    const Workspace w(dir_->path());
    TrainOptions style;
    style.model = "style";
    style.epochs = 2;
    style.batch_size = 32;
    style.threads = 2;
    style.patience = 100;
    train_on_catalog(w, style);
    embed_catalog(w, "style", nn::LatentPooling::kFlat, 2);
    CompatTrainOptions compat;
    compat.settings.epochs = 2;
    compat.threads = 2;
    report_ = new CompatTrainReport(train_compat_on_catalog(w, compat));
    ready_ = true;
  }
  static void TearDownTestSuite() {
    delete report_;
    delete dir_;
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "MANGO data set absent";
  }
  static Workspace workspace() { return Workspace(dir_->path()); }
  static recommend::OutfitGraph graph() {
    catalog::Catalog cat(dir_->path());
    return recommend::OutfitGraph::load(cat);
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline CompatTrainReport* report_ = nullptr;
  static inline bool ready_ = false;
};

// The model learns from exactly the outfits without a held-out design (recomputed here from the
// design coin), and says so in models/compat.json.
TEST_F(CompatTest, LearnsOnlyFromOutfitsOfTrainingDesigns) {
  const auto g = graph();
  std::size_t clean = 0, dirty = 0;
  for (const auto& outfit : g.outfits()) {
    bool held = false;
    for (const auto& m : outfit.members) held = held || catalog::is_held_out_design(*g.item(m.item_id), 1);
    (held ? dirty : clean) += 1;
  }
  ASSERT_GT(clean, 10u);
  ASSERT_GT(dirty, 10u);
  const auto outfits = training_outfits(g, 1);
  EXPECT_EQ(outfits.size(), clean);
  for (const auto id : outfits) {
    for (const auto& m : g.outfit(id)->members) EXPECT_FALSE(catalog::is_held_out_design(*g.item(m.item_id), 1));
  }
  EXPECT_EQ(report_->outfits_used, static_cast<std::int64_t>(clean));
  EXPECT_EQ(report_->outfits_left_out, static_cast<std::int64_t>(dirty));
  ASSERT_EQ(report_->history.size(), 2u);
  EXPECT_LT(report_->history.back().loss, report_->history.front().loss);
  const auto doc = nlohmann::json::parse(read_file_bytes(dir_->path() / "models" / "compat.json"));
  EXPECT_EQ(doc["outfits_learned_from"].get<std::size_t>(), clean);
  EXPECT_EQ(doc["split_seed"].get<int>(), 1);
  EXPECT_EQ(doc["style_model"].get<std::string>(), "style");
}

// The table's score is the cosine of the two items' views computed afresh through the network,
// each seen from the other's slot; it is symmetric; a saved and reloaded model scores the same.
TEST_F(CompatTest, TableScoresMatchTheNetwork) {
  const auto g = graph();
  const Workspace w = workspace();
  const CompatFeatures features = load_compat_features(w, g, "style", 2);
  CompatModel model = CompatModel::load(w.model_file("compat"), dir_->path() / "models" / "compat.json");
  const CompatTable table(model, features, g);
  ASSERT_EQ(table.size(), features.ids.size());
  const std::int64_t a = features.ids[3], b = features.ids[17];
  const catalog::Slot sa = g.item(a)->slot, sb = g.item(b)->slot;
  std::vector<float> x(features.row(a), features.row(a) + features.dim());
  x.insert(x.end(), features.row(b), features.row(b) + features.dim());
  const catalog::Slot own[] = {sa, sb};
  std::vector<float> views;
  model.embed_all(x, own, views);
  const int d = model.dim();
  const float* a_from_b = views.data() + (0 * kCompatSlots + static_cast<int>(sb)) * d;
  const float* b_from_a = views.data() + (1 * kCompatSlots + static_cast<int>(sa)) * d;
  double dot = 0, na = 0, nb = 0;
  for (int k = 0; k < d; ++k) {
    dot += a_from_b[k] * b_from_a[k];
    na += a_from_b[k] * a_from_b[k];
    nb += b_from_a[k] * b_from_a[k];
  }
  EXPECT_NEAR(na, 1.0, 1e-4);
  EXPECT_NEAR(nb, 1.0, 1e-4);
  EXPECT_NEAR(table.score(a, b), dot, 1e-5);
  EXPECT_FLOAT_EQ(table.score(a, b), table.score(b, a));
  EXPECT_EQ(table.score(a, -5), 0.0f);
}

// complete(): every proposed piece is a catalog item with a photo, in its slot, of the requested
// category; the photo's slot is never filled; the same request gives the same document.
TEST_F(CompatTest, CompleteProposesRealPiecesInOtherSlots) {
  const Workspace w = workspace();
  auto rec = Recommender::open(w, {});
  auto completer = Completer::open(w, *rec);
  const auto& g = rec->graph();
  const catalog::Item* query = nullptr;
  for (const auto& item : g.items()) {
    if (item.image_path && item.slot == catalog::Slot::kBottom) {
      query = &item;
      break;
    }
  }
  ASSERT_NE(query, nullptr);
  const std::string bytes = read_file_bytes(*query->image_path);
  const std::span<const std::uint8_t> photo{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
  CompleteRequest req;
  req.slot = catalog::Slot::kBottom;
  req.outfits = 3;
  req.per_slot = 4;
  const CompleteResponse r = completer->complete(photo, "bottom.jpg", req);
  EXPECT_EQ(r.query_slot, catalog::Slot::kBottom);
  ASSERT_FALSE(r.result.slots.empty());
  ASSERT_FALSE(r.result.outfits.empty());
  for (const auto slot : r.result.slots) EXPECT_NE(slot, catalog::Slot::kBottom);
  auto check = [&](const recommend::ScoredPiece& p) {
    const catalog::Item* item = g.item(p.item);
    ASSERT_NE(item, nullptr) << p.item;
    EXPECT_TRUE(item->image_path.has_value());
    EXPECT_EQ(item->slot, p.slot);
    EXPECT_NE(p.slot, catalog::Slot::kBottom);
    EXPECT_TRUE(std::isfinite(p.with_query));
  };
  for (const auto& c : r.result.candidates) {
    EXPECT_LE(c.pieces.size(), 4u);
    for (const auto& p : c.pieces) check(p);
  }
  for (const auto& o : r.result.outfits) {
    std::set<catalog::Slot> filled;
    for (const auto& p : o.pieces) {
      check(p);
      EXPECT_TRUE(filled.insert(p.slot).second) << "slot filled twice";
    }
    EXPECT_EQ(o.pairs.size(), o.pieces.size() * (o.pieces.size() + 1) / 2);
  }
  // Deterministic: the same document (timings aside).
  auto doc = completer->to_json(r, req);
  auto again = completer->to_json(completer->complete(photo, "bottom.jpg", req), req);
  doc.erase("timing_ms");
  again.erase("timing_ms");
  EXPECT_EQ(doc, again);

  // Filters: the requested slots only, in order, and only the requested category.
  req.slots = {catalog::Slot::kShoes, catalog::Slot::kMainTop, catalog::Slot::kBottom};
  req.category = "Accesories, Swim and Intimate";
  const CompleteResponse filtered = completer->complete(photo, "bottom.jpg", req);
  EXPECT_EQ(filtered.result.slots, (std::vector<catalog::Slot>{catalog::Slot::kShoes}));  // no top is an accessory
  for (const auto& o : filtered.result.outfits) {
    for (const auto& p : o.pieces) EXPECT_EQ(g.item(p.item)->category, *req.category);
  }
  req.category = "No such category";
  EXPECT_THROW(completer->complete(photo, "bottom.jpg", req), Error);
  req.category.reset();
  req.per_slot = 0;
  EXPECT_THROW(completer->complete(photo, "bottom.jpg", req), Error);
}

// With a colour family, the pieces proposed for every slot are of that family, and each slot's
// candidates are exactly the unfiltered candidates of that family, in the same order; the photo's own
// slot comes from its best match, whatever the colour asked.
TEST_F(CompatTest, CompleteWithAColourProposesOnlyThatFamily) {
  const Workspace w = workspace();
  auto rec = Recommender::open(w, {});
  auto completer = Completer::open(w, *rec);
  const auto& g = rec->graph();
  const catalog::Item* query = nullptr;
  for (const auto& item : g.items()) {
    if (item.image_path && item.slot == catalog::Slot::kBottom) {
      query = &item;
      break;
    }
  }
  ASSERT_NE(query, nullptr);
  const std::string bytes = read_file_bytes(*query->image_path);
  const std::span<const std::uint8_t> photo{reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()};
  CompleteRequest plain;
  plain.outfits = 2;
  plain.per_slot = CompleteRequest::kMaxPerSlot;
  const CompleteResponse all = completer->complete(photo, "bottom.jpg", plain);
  ASSERT_FALSE(all.result.candidates.empty());
  // The family most candidates have.
  std::map<std::string, int> count;
  for (const auto& c : all.result.candidates) {
    for (const auto& p : c.pieces) ++count[g.item(p.item)->colour_family];
  }
  count.erase("");
  ASSERT_FALSE(count.empty());
  const std::string family = std::ranges::max_element(count, {}, [](const auto& e) { return e.second; })->first;

  CompleteRequest asked = plain;
  asked.colour_family = family;
  const CompleteResponse r = completer->complete(photo, "bottom.jpg", asked);
  EXPECT_EQ(r.query_slot, all.query_slot);
  ASSERT_FALSE(r.result.candidates.empty());
  for (const auto& c : r.result.candidates) {
    std::vector<std::int64_t> restricted;  // the unfiltered candidates of this slot, of the family
    for (const auto& u : all.result.candidates) {
      if (u.slot != c.slot) continue;
      for (const auto& p : u.pieces) {
        if (g.item(p.item)->colour_family == family) restricted.push_back(p.item);
      }
    }
    std::vector<std::int64_t> got;
    for (const auto& p : c.pieces) {
      EXPECT_EQ(g.item(p.item)->colour_family, family);
      got.push_back(p.item);
    }
    // The unfiltered list was cut at per_slot: its family's items are a prefix of the filtered list.
    ASSERT_GE(got.size(), restricted.size());
    EXPECT_EQ(std::vector<std::int64_t>(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(restricted.size())),
              restricted)
        << catalog::slot_name(c.slot);
  }
  for (const auto& o : r.result.outfits) {
    for (const auto& p : o.pieces) EXPECT_EQ(g.item(p.item)->colour_family, family);
  }
  const nlohmann::json doc = completer->to_json(r, asked);
  EXPECT_EQ(doc["request"]["colour"], family);
  EXPECT_TRUE(completer->to_json(all, plain)["request"]["colour"].is_null());
  asked.colour_family = "Navy";  // not read into its family
  EXPECT_THROW(completer->complete(photo, "bottom.jpg", asked), Error);
}

// A person's worn pieces (CCP's own labels as the parse, so the test does not depend on a parser's
// training): each kept, the other slots filled; with one piece kept, exactly today's answer for that
// piece's cut-out as a photo; with a piece chosen, only its slot is filled, around the rest.
TEST_F(CompatTest, CompleteAroundWornPieces) {
  const auto ccp_root = testing::dataset_path("ccp/labels.csv");
  if (ccp_root.empty()) GTEST_SKIP() << "CCP data set absent";
  const CcpSet ccp = load_ccp(ccp_root.parent_path());
  const Workspace w = workspace();
  auto rec = Recommender::open(w, {});
  auto completer = Completer::open(w, *rec);
  auto search = PieceSearch::open(w, *rec);
  ParsedPhoto photo;
  for (const auto& p : ccp.annotated) {
    if (!ccp_held_out(p.id, 1)) continue;
    photo = load_parsed_photo(ccp, p);
    const auto has = [&](ParseClass c) { return cv::countNonZero(photo.classes == static_cast<int>(c)) > 800; };
    if (has(ParseClass::kTop) && has(ParseClass::kBottom) && has(ParseClass::kShoes)) break;
    photo = {};
  }
  ASSERT_FALSE(photo.rgb.empty());
  RecommendRequest match;
  match.k = 10;
  match.max_outfits = 1;
  auto parse_of = [](const cv::Mat& classes) {
    ParseResult r;
    r.classes = classes;
    r.pieces = pieces_of(classes);
    return r;
  };

  // Every piece kept: no worn slot is filled again.
  CompleteRequest req;
  req.per_slot = 4;
  const CompleteResponse all = completer->complete_worn(
      search->search_parsed(photo.rgb, photo.id, match, parse_of(photo.classes)), req);
  ASSERT_TRUE(all.pieces && all.pieces->worn);
  std::set<catalog::Slot> worn;
  for (const WornPiece& p : all.worn) {
    EXPECT_FALSE(p.replaced);
    worn.insert(*all.pieces->pieces[p.index].region.slot);
  }
  EXPECT_TRUE(worn.contains(catalog::Slot::kBottom));
  for (const auto slot : all.result.slots) {
    EXPECT_FALSE(worn.contains(slot)) << catalog::slot_name(slot);
    EXPECT_FALSE(slot == catalog::Slot::kDress) << "a top and a bottom are worn";
  }
  for (const auto& c : all.result.candidates) {
    for (const auto& p : c.pieces) EXPECT_EQ(rec->graph().item(p.item)->slot, c.slot);
  }
  const nlohmann::json doc = completer->to_json(all, req);
  EXPECT_TRUE(doc["worn"].get<bool>());
  EXPECT_EQ(doc["mode"], "fill");
  EXPECT_EQ(doc["pieces"].size(), all.pieces->pieces.size());

  // Only the bottom worn (the rest made skin): the same candidates as the bottom's cut-out completed
  // as a photo of one garment.
  cv::Mat only_bottom = photo.classes.clone();
  for (int c = static_cast<int>(ParseClass::kTop); c < kParseClasses; ++c) {
    if (c != static_cast<int>(ParseClass::kBottom)) only_bottom.setTo(static_cast<int>(ParseClass::kPerson), only_bottom == c);
  }
  req.slots = {catalog::Slot::kShoes, catalog::Slot::kMainTop, catalog::Slot::kBag};
  const CompleteResponse one =
      completer->complete_worn(search->search_parsed(photo.rgb, photo.id, match, parse_of(only_bottom)), req);
  ASSERT_EQ(one.worn.size(), 1u);
  const PhotoPiece& bottom = one.pieces->pieces[one.worn.front().index];
  std::vector<std::uint8_t> png;
  cv::Mat bgr;
  cv::cvtColor(bottom.cutout, bgr, cv::COLOR_RGB2BGR);
  cv::imencode(".png", bgr, png);
  CompleteRequest as_photo = req;
  as_photo.slot = catalog::Slot::kBottom;
  const CompleteResponse reference = completer->complete(png, "bottom.png", as_photo);
  ASSERT_EQ(one.result.candidates.size(), reference.result.candidates.size());
  for (std::size_t s = 0; s < one.result.candidates.size(); ++s) {
    const auto& a = one.result.candidates[s].pieces;
    const auto& b = reference.result.candidates[s].pieces;
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].item, b[i].item);
      EXPECT_FLOAT_EQ(a[i].with_query, b[i].with_query);
    }
  }

  // The shoes chosen: only shoes proposed, and the rest of what is worn kept.
  req.slots.clear();
  req.piece = PieceChoice::parse("shoes");
  const CompleteResponse shoes = completer->complete_worn(
      search->search_parsed(photo.rgb, photo.id, match, parse_of(photo.classes), req.piece), req);
  EXPECT_EQ(shoes.result.slots, (std::vector<catalog::Slot>{catalog::Slot::kShoes}));
  EXPECT_EQ(std::ranges::count_if(shoes.worn, [](const WornPiece& p) { return p.replaced; }), 1);
  EXPECT_EQ(completer->to_json(shoes, req)["mode"], "replace");
}

// Without a trained compat model the completer names the command that makes one.
TEST(CompatMissing, OpenNamesTheTrainingCommand) {
  testing::TempDir dir;
  if (!testing::import_mango_sample(dir.path(), 40)) GTEST_SKIP() << "MANGO data set absent";
  const Workspace w(dir.path());
  TrainOptions style;
  style.model = "style";
  style.epochs = 1;
  style.batch_size = 16;
  style.threads = 2;
  train_on_catalog(w, style);
  embed_catalog(w, "style", nn::LatentPooling::kFlat, 2);
  auto rec = Recommender::open(w, {});
  try {
    Completer::open(w, *rec);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mystyle train --model compat"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mystyle::engine
