#include "mystyle/eval/scorers.h"

#include <gtest/gtest.h>

#include <algorithm>

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
  void SetUp() override {
    auto items =
        testing::write_file(dir_ / "items.csv",
                            "id,name,category,url\n"
                            "x,Top,Tops,u\ny,Bottom,Bottoms,u\nz,Top 2,Tops,u\n"
                            "a,Shoe,Footwear,u\nb,Shoe,Footwear,u\nc,Shoe,Footwear,u\nd,Shoe,Footwear,u\n"
                            "n,New shoe,Footwear,u\nm,New shoe,Footwear,u\n");
    auto outfits = testing::write_file(dir_ / "outfits.csv",
                                       "outfit_id,item_id\n"
                                       "o1,x\no1,y\no1,a\n"
                                       "o2,x\no2,b\n"
                                       "o3,y\no3,c\n"
                                       "o4,z\no4,d\n");
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
    for (auto& scorer : {make_cooccurrence_scorer(known), neighbour_scorer(known)}) {
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
