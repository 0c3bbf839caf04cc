#include "mystyle/eval/scorers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "mystyle/catalog/import.h"
#include "mystyle/core/error.h"
#include "mystyle/eval/outfit_eval.h"
#include "support/test_support.h"

namespace mystyle::eval {
namespace {

/// Top x, bottom y, shoes a b c d, top z, new shoes n m (in no outfit). o1 = {x, y, a} is the
/// outfit a question will come from; the others pair b with x, c with y and d with z.
class ScorersTest : public ::testing::Test {
 protected:
  static constexpr const char* kItemsCsv =
      "id,name,category,url\n"
      "x,Top,Tops,u\ny,Bottom,Bottoms,u\nz,Top 2,Tops,u\n"
      "a,Shoe,Footwear,u\nb,Shoe,Footwear,u\nc,Shoe,Footwear,u\nd,Shoe,Footwear,u\n"
      "n,New shoe,Footwear,u\nm,New shoe,Footwear,u\n";
  static constexpr const char* kO1Csv = "o1,x\no1,y\no1,a\n";
  static constexpr const char* kOtherOutfitsCsv = "o2,x\no2,b\no3,y\no3,c\no4,z\no4,d\n";

  void SetUp() override {
    auto items = testing::write_file(dir_ / "items.csv", kItemsCsv);
    auto outfits = testing::write_file(dir_ / "outfits.csv",
                                       std::string("outfit_id,item_id\n") + kO1Csv + kOtherOutfitsCsv);
    catalog::import_csv(cat_, items, outfits, "t");
    graph_ = recommend::OutfitGraph::load(cat_);
    // One-hot vectors, except n (near a) and m (near d).
    const char* names[] = {"x", "y", "z", "a", "b", "c", "d", "n", "m"};
    for (std::size_t i = 0; i < 9; ++i) {
      ids_.push_back(id(names[i]));
      std::vector<float> v(7, 0.0f);
      const std::string name = names[i];
      const std::size_t hot = name == "n" ? 3 : name == "m" ? 6 : i;
      v[hot] = 1.0f;
      if (name == "n" || name == "m") v[(hot + 1) % 7] = 0.2f;
      vectors_.insert(vectors_.end(), v.begin(), v.end());
    }
  }
  std::int64_t id(const std::string& s) { return cat_.find_item_by_source("t", s)->id; }
  std::int64_t outfit(const std::string& s) {
    for (const auto& o : graph_.outfits()) {
      if (o.source_id == s) return o.id;
    }
    return -1;
  }
  /// The question from o1: x and y are given, a is hidden among b, c, d.
  FitbSet question(bool exclude_o1) {
    FitbSet set;
    if (exclude_o1) set.exclude_outfits = {outfit("o1")};
    set.questions.push_back({outfit("o1"), {id("x"), id("y")}, {id("b"), id("a"), id("c"), id("d")}});
    set.answers = {id("a")};
    return set;
  }
  std::unique_ptr<CompatibilityScorer> neighbour_scorer(const KnownOutfits& known) {
    return make_neighbour_scorer(known, "nn", ids_, vectors_, 7, {/*neighbours=*/1, true}, "test vectors");
  }
  /// K = 2 for a candidate, 1 for an outfit item, floor 0.3.
  std::unique_ptr<CompatibilityScorer> typed_scorer(const KnownOutfits& known,
                                                    SameLabel label = SameLabel::kType) {
    return make_typed_neighbour_scorer(known, "typed", ids_, vectors_, 7, {label, 2, 1, 0.3}, "test vectors");
  }

  testing::TempDir dir_;
  catalog::Catalog cat_{dir_ / "ws"};
  recommend::OutfitGraph graph_;
  std::vector<std::int64_t> ids_;
  std::vector<float> vectors_;
};

TEST_F(ScorersTest, KnownOutfitsCountOnlyWhatIsNotExcluded) {
  const std::int64_t excluded[] = {outfit("o1")};
  const KnownOutfits known(graph_, excluded);
  EXPECT_EQ(known.outfit_ids().size(), 3u);
  EXPECT_EQ(known.popularity(id("x")), 1u);
  EXPECT_EQ(known.popularity(id("a")), 0u);
  EXPECT_EQ(known.cooccurrence(id("x"), id("a")), 0u);
  EXPECT_EQ(known.cooccurrence(id("x"), id("b")), 1u);
  EXPECT_EQ(known.cooccurrence(id("b"), id("x")), 1u);
  EXPECT_FALSE(std::ranges::binary_search(known.items(), id("a")));
  const KnownOutfits all(graph_, {});
  EXPECT_EQ(all.cooccurrence(id("x"), id("a")), 1u);
}

// The excluded outfit o1 is the only evidence that a goes with x and y: a scorer that used it would
// answer right; one that ignores it cannot (o2 and o3 point at b and c instead).
TEST_F(ScorersTest, ExcludedOutfitThatWouldAnswerTheQuestionIsNotUsed) {
  for (bool exclude : {false, true}) {
    const FitbSet set = question(exclude);
    const KnownOutfits known(graph_, set.exclude_outfits);
    for (auto& scorer : {make_cooccurrence_scorer(known), neighbour_scorer(known), typed_scorer(known)}) {
      const FitbRun run = run_fitb(*scorer, set, graph_);
      ASSERT_TRUE(run.accuracy);
      EXPECT_DOUBLE_EQ(*run.accuracy, exclude ? 0.0 : 1.0) << scorer->name() << " exclude=" << exclude;
      EXPECT_EQ(run.scores[0][1] > 0, !exclude) << scorer->name();
    }
  }
}

TEST_F(ScorersTest, PopularityAndRandomBaselines) {
  const KnownOutfits known(graph_, {});
  auto popularity = make_popularity_scorer(known);
  EXPECT_DOUBLE_EQ(popularity->candidate_score(id("a"), {}), 1.0);
  EXPECT_DOUBLE_EQ(popularity->candidate_score(id("n"), {}), 0.0);
  auto random = make_random_scorer(3);
  const std::int64_t items[] = {id("x"), id("y")};
  EXPECT_EQ(random->candidate_score(id("a"), items), make_random_scorer(3)->candidate_score(id("a"), items));
  EXPECT_NE(random->candidate_score(id("a"), items), random->candidate_score(id("b"), items));
}

// Cold start: n and m are in no outfit; n looks like a (worn with x and y), m like d (worn with z).
TEST_F(ScorersTest, NeighbourScorerTransfersCoOccurrenceToLookalikes) {
  const KnownOutfits known(graph_, {});
  auto scorer = neighbour_scorer(known);
  const std::int64_t items[] = {id("x"), id("y")};
  EXPECT_GT(scorer->candidate_score(id("n"), items), 0.0);
  EXPECT_DOUBLE_EQ(scorer->candidate_score(id("m"), items), 0.0);
  const std::int64_t with_z[] = {id("z")};
  EXPECT_GT(scorer->candidate_score(id("m"), with_z), scorer->candidate_score(id("n"), with_z));
  EXPECT_GT(scorer->outfit_score(std::vector<std::int64_t>{id("x"), id("y"), id("n")}),
            scorer->outfit_score(std::vector<std::int64_t>{id("x"), id("y"), id("m")}));
}

// The items carry no type or family, so kType falls back to the category: x and z are Tops, y is a
// Bottom, a..d, n and m are Footwear. Known outfits: {x, y, a}, {x, b}, {y, c}, {z, d}, each pair once.
TEST_F(ScorersTest, TypedNeighbourScorerMatchesAHandComputation) {
  const KnownOutfits known(graph_, {});
  auto scorer = typed_scorer(known);
  const double ln2 = std::log(2.0);
  // n = e3 + w e4 (w = 0.2f): cosine 1/sqrt(1 + w^2) with a (e3), w/sqrt(1 + w^2) with b (e4), 0
  // with c and d.
  const double w = 0.2f;
  const double n_a = 1 / std::sqrt(1 + w * w), n_b = w / std::sqrt(1 + w * w);
  // Candidate n: its 2 nearest known shoes are a and b; x's 1 nearest known top is x, y's is y.
  // e(n, x) = n_a * 1 * log(1 + cooc(a, x) = 1) + n_b * 1 * log(1 + cooc(b, x) = 1)
  // e(n, y) = n_a * 1 * log(1 + cooc(a, y) = 1) + n_b * 1 * log(1 + cooc(b, y) = 0)
  const double e_nx = (n_a + n_b) * ln2, e_ny = n_a * ln2;
  const std::int64_t xy[] = {id("x"), id("y")};
  EXPECT_NEAR(scorer->candidate_score(id("n"), xy), std::sqrt((0.3 + e_nx) * (0.3 + e_ny)) - 0.3, 1e-12);
  // m's only known shoe with positive cosine is d, worn with z alone: no evidence, exactly 0.
  EXPECT_EQ(scorer->candidate_score(id("m"), xy), 0.0);
  // One outfit item: the geometric mean is that item's evidence.
  const std::int64_t just_x[] = {id("x")};
  EXPECT_NEAR(scorer->candidate_score(id("n"), just_x), e_nx, 1e-12);
  // pair_score is symmetric: e(x, n) takes x's 2 nearest tops (x; z has cosine 0) and n's nearest shoe (a).
  const double e_xn = n_a * ln2;
  EXPECT_NEAR(scorer->pair_score(id("n"), id("x")), 0.5 * (e_nx + e_xn), 1e-12);
  EXPECT_NEAR(scorer->pair_score(id("x"), id("n")), 0.5 * (e_nx + e_xn), 1e-12);
  // outfit_score: the mean pair_score; e(x, y) = e(y, x) = log 2, e(y, n) = n_a * log 2 as for x.
  const double pair_yn = 0.5 * (e_ny + n_a * ln2);
  EXPECT_NEAR(scorer->outfit_score(std::vector<std::int64_t>{id("x"), id("y"), id("n")}),
              (ln2 + 0.5 * (e_nx + e_xn) + pair_yn) / 3, 1e-12);
}

// m = e6 + 0.2 e0 is a little like the top x (e0): only a scorer that ignores labels lets the top
// stand in for the shoe.
TEST_F(ScorersTest, TypedNeighbourScorerKeepsNeighboursToTheItemsLabel) {
  const KnownOutfits known(graph_, {});
  const std::int64_t just_y[] = {id("y")};
  EXPECT_EQ(typed_scorer(known, SameLabel::kType)->candidate_score(id("m"), just_y), 0.0);
  // Unrestricted: m's 2 nearest known items are d and x, and x was worn with y once.
  const double w = 0.2f;
  EXPECT_NEAR(typed_scorer(known, SameLabel::kNone)->candidate_score(id("m"), just_y),
              w / std::sqrt(1 + w * w) * std::log(2.0), 1e-12);
}

TEST_F(ScorersTest, LabelsFallBackFromTypeToFamilyToCategory) {
  catalog::Item item;
  item.category = "Tops";
  EXPECT_EQ(label_of(item, SameLabel::kType), "Tops");
  EXPECT_EQ(label_of(item, SameLabel::kFamily), "Tops");
  item.family = "Shirts";
  EXPECT_EQ(label_of(item, SameLabel::kType), "Shirts");
  item.type = "Shirt";
  EXPECT_EQ(label_of(item, SameLabel::kType), "Shirt");
  EXPECT_EQ(label_of(item, SameLabel::kFamily), "Shirts");
  EXPECT_EQ(label_of(item, SameLabel::kCategory), "Tops");
  EXPECT_EQ(label_of(item, SameLabel::kNone), "");
}

// Known tops {x, z}, bottoms {y}, shoes {a, b, c, d}: a label pair's evidence is the mean of
// log(1 + count) over its item pairs.
TEST_F(ScorersTest, LabelCooccurrenceMatchesAHandComputation) {
  const KnownOutfits known(graph_, {});
  auto scorer = make_label_cooccurrence_scorer(known, SameLabel::kType);
  const double ln2 = std::log(2.0);
  const double tops_shoes = 3 * ln2 / (2 * 4);     // x-a, x-b, z-d
  const double bottoms_shoes = 2 * ln2 / (1 * 4);  // y-a, y-c
  EXPECT_NEAR(scorer->pair_score(id("n"), id("x")), tops_shoes, 1e-12);
  EXPECT_NEAR(scorer->pair_score(id("z"), id("m")), tops_shoes, 1e-12);
  EXPECT_NEAR(scorer->pair_score(id("y"), id("b")), bottoms_shoes, 1e-12);
  EXPECT_EQ(scorer->pair_score(id("x"), id("z")), 0.0);  // two tops never worn together
  const std::int64_t xy[] = {id("x"), id("y")};
  EXPECT_NEAR(scorer->candidate_score(id("n"), xy),
              std::sqrt((1e-3 + tops_shoes) * (1e-3 + bottoms_shoes)) - 1e-3, 1e-12);
}

// Excluding an outfit must be the same as the outfit never having existed: every score of the
// scorers that learn from outfits equals the score made from a catalog without it.
TEST_F(ScorersTest, ExcludedOutfitIsAsIfItNeverExisted) {
  testing::TempDir other_dir;
  catalog::Catalog other_cat(other_dir / "ws");
  catalog::import_csv(
      other_cat, testing::write_file(other_dir / "items.csv", kItemsCsv),
      testing::write_file(other_dir / "outfits.csv", std::string("outfit_id,item_id\n") + kOtherOutfitsCsv),
      "t");
  const auto other_graph = recommend::OutfitGraph::load(other_cat);
  const auto other_id = [&](const std::string& s) { return other_cat.find_item_by_source("t", s)->id; };
  std::vector<std::int64_t> other_ids;
  for (auto item_id : ids_) other_ids.push_back(other_id(graph_.item(item_id)->source_id));

  const std::int64_t excluded[] = {outfit("o1")};
  const KnownOutfits known(graph_, excluded);
  const KnownOutfits other_known(other_graph, {});
  const TypedNeighbourOptions options{SameLabel::kType, 2, 1, 0.3};
  auto typed = make_typed_neighbour_scorer(known, "typed", ids_, vectors_, 7, options, "");
  auto other_typed = make_typed_neighbour_scorer(other_known, "typed", other_ids, vectors_, 7, options, "");
  auto label = make_label_cooccurrence_scorer(known, SameLabel::kType);
  auto other_label = make_label_cooccurrence_scorer(other_known, SameLabel::kType);
  const char* names[] = {"x", "y", "z", "a", "b", "c", "d", "n", "m"};
  for (const char* c : names) {
    for (const char* i : names) {
      const std::int64_t items[] = {id(i), id("y")};
      const std::int64_t other_items[] = {other_id(i), other_id("y")};
      EXPECT_DOUBLE_EQ(typed->candidate_score(id(c), items),
                       other_typed->candidate_score(other_id(c), other_items))
          << c << " with " << i;
      EXPECT_DOUBLE_EQ(typed->pair_score(id(c), id(i)), other_typed->pair_score(other_id(c), other_id(i)));
      EXPECT_DOUBLE_EQ(label->candidate_score(id(c), items),
                       other_label->candidate_score(other_id(c), other_items));
    }
  }
  // o1 was the only outfit holding a: excluded, a is no known item and no one's neighbour.
  EXPECT_FALSE(std::ranges::binary_search(known.items(), id("a")));
}

/// A scorer that claims to have learned from every outfit.
class LeakyScorer final : public CompatibilityScorer {
 public:
  explicit LeakyScorer(std::vector<std::int64_t> outfits) : outfits_(std::move(outfits)) {}
  std::string name() const override { return "leaky"; }
  std::span<const std::int64_t> learned_from_outfits() const override { return outfits_; }
  std::string provenance() const override { return "every outfit"; }
  double pair_score(std::int64_t, std::int64_t) override { return 0; }

 private:
  std::vector<std::int64_t> outfits_;
};

TEST_F(ScorersTest, EvaluationRefusesAScorerTrainedOnExcludedOutfits) {
  std::vector<std::int64_t> all;
  for (const auto& o : graph_.outfits()) all.push_back(o.id);
  LeakyScorer leaky(all);
  EXPECT_THROW(run_fitb(leaky, question(true), graph_), Error);
  CompatSet compat;
  compat.exclude_outfits = {outfit("o2")};
  compat.outfits = {{id("x"), id("b")}};
  EXPECT_THROW(run_compat(leaky, compat, graph_), Error);
  EXPECT_NO_THROW(run_fitb(leaky, question(false), graph_));
}

TEST_F(ScorersTest, UnknownItemsInQuestionsAreErrors) {
  FitbSet set = question(true);
  set.questions[0].candidates[2] = 999999;
  const KnownOutfits known(graph_, set.exclude_outfits);
  auto scorer = make_cooccurrence_scorer(known);
  EXPECT_THROW(run_fitb(*scorer, set, graph_), Error);
}

}  // namespace
}  // namespace mystyle::eval
