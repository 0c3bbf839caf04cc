#include "mystyle/eval/questions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "eval/eval_fixture.h"
#include "mystyle/core/error.h"

namespace mystyle::eval {
namespace {

class QuestionsTest : public ::testing::Test {
 protected:
  const recommend::OutfitGraph& graph() const { return fixture_.graph(); }
  const std::string& category(std::int64_t id) const { return graph().item(id)->category; }
  std::set<std::int64_t> members(std::int64_t outfit) const {
    std::set<std::int64_t> ids;
    for (const auto& m : graph().outfit(outfit)->members) ids.insert(m.item_id);
    return ids;
  }
  testing::EvalCatalog fixture_;
};

TEST(Questions, DesignIsTheSourceIdBeforeTheDash) {
  EXPECT_EQ(design_of("41085800-02"), "41085800");
  EXPECT_EQ(design_of("plain"), "plain");
}

TEST_F(QuestionsTest, DeterministicForASeed) {
  for (Protocol p : {Protocol::kCold, Protocol::kWarm}) {
    const auto a = make_fitb(graph(), p, 7), b = make_fitb(graph(), p, 7), c = make_fitb(graph(), p, 8);
    EXPECT_EQ(fitb_questions_json(a), fitb_questions_json(b));
    EXPECT_EQ(fitb_answers_json(a), fitb_answers_json(b));
    EXPECT_NE(fitb_questions_json(a), fitb_questions_json(c));
    EXPECT_EQ(compat_questions_json(make_compat(graph(), p, 7)),
              compat_questions_json(make_compat(graph(), p, 7)));
  }
}

// Four distinct candidates of the blank's category, the blank exactly once, none from the outfit.
TEST_F(QuestionsTest, CandidatesAreDistinctSameCategoryAndHoldTheBlankOnce) {
  for (Protocol p : {Protocol::kCold, Protocol::kWarm}) {
    for (std::uint64_t seed : {1, 2, 3}) {
      const auto set = make_fitb(graph(), p, seed);
      ASSERT_FALSE(set.questions.empty()) << protocol_name(p);
      for (std::size_t i = 0; i < set.questions.size(); ++i) {
        const auto& q = set.questions[i];
        ASSERT_EQ(q.candidates.size(), kCandidates);
        EXPECT_EQ(std::set<std::int64_t>(q.candidates.begin(), q.candidates.end()).size(), kCandidates);
        EXPECT_EQ(std::ranges::count(q.candidates, set.answers[i]), 1);
        for (auto c : q.candidates) {
          EXPECT_EQ(category(c), category(set.answers[i]));
          EXPECT_EQ(std::ranges::count(q.items, c), 0);
        }
        auto with_blank = q.items;
        with_blank.push_back(set.answers[i]);
        EXPECT_EQ(std::set<std::int64_t>(with_blank.begin(), with_blank.end()), members(q.outfit));
        EXPECT_TRUE(std::ranges::binary_search(set.exclude_outfits, q.outfit));
      }
    }
  }
}

TEST_F(QuestionsTest, ColdKnownOutfitsHoldNoNewProductAndQuestionsExactlyOne) {
  const Split split = make_split(graph(), Protocol::kCold, 1);
  ASSERT_FALSE(split.new_items.empty());
  // Every colour of a new design is new.
  std::set<std::string> new_designs;
  for (auto id : split.new_items) new_designs.insert(design_of(graph().item(id)->source_id));
  for (const auto& item : graph().items()) {
    EXPECT_EQ(std::ranges::binary_search(split.new_items, item.id),
              new_designs.contains(design_of(item.source_id)));
  }
  auto count_new = [&](std::int64_t outfit) {
    return std::ranges::count_if(members(outfit),
                                 [&](auto id) { return std::ranges::binary_search(split.new_items, id); });
  };
  for (const auto& outfit : graph().outfits()) {
    const bool excluded = std::ranges::binary_search(split.exclude_outfits, outfit.id);
    EXPECT_EQ(excluded, count_new(outfit.id) > 0) << outfit.source_id;
  }
  const auto set = make_fitb(graph(), Protocol::kCold, 1);
  for (std::size_t i = 0; i < set.questions.size(); ++i) {
    EXPECT_EQ(count_new(set.questions[i].outfit), 1);
    for (auto c : set.questions[i].candidates) EXPECT_TRUE(std::ranges::binary_search(split.new_items, c));
    EXPECT_NE(design_of(graph().item(set.answers[i])->source_id), "");
  }
}

TEST_F(QuestionsTest, WarmHoldsOutAboutAFifthOfOutfitsAndAsksOnlyAboutThem) {
  const auto set = make_fitb(graph(), Protocol::kWarm, 1);
  EXPECT_GT(set.exclude_outfits.size(), 10u);
  EXPECT_LT(set.exclude_outfits.size(), 55u);  // 20% of 150, loosely
  for (const auto& q : set.questions) EXPECT_TRUE(std::ranges::binary_search(set.exclude_outfits, q.outfit));
}

TEST_F(QuestionsTest, CompatHasOneRandomOutfitPerRealOneOfTheSameCategories) {
  for (Protocol p : {Protocol::kCold, Protocol::kWarm}) {
    const auto set = make_compat(graph(), p, 1);
    ASSERT_FALSE(set.outfits.empty());
    EXPECT_EQ(std::ranges::count(set.labels, true), std::ranges::count(set.labels, false));
    std::multiset<std::multiset<std::string>> real, fake;
    for (std::size_t i = 0; i < set.outfits.size(); ++i) {
      std::multiset<std::string> cats;
      for (auto id : set.outfits[i]) cats.insert(category(id));
      (set.labels[i] ? real : fake).insert(cats);
    }
    EXPECT_EQ(real, fake);
  }
}

TEST_F(QuestionsTest, JsonRoundTripAndErrors) {
  const auto set = make_fitb(graph(), Protocol::kWarm, 3);
  const auto back = parse_fitb(fitb_questions_json(set), fitb_answers_json(set), "q.json");
  EXPECT_EQ(back.exclude_outfits, set.exclude_outfits);
  EXPECT_EQ(back.answers, set.answers);
  ASSERT_EQ(back.questions.size(), set.questions.size());
  EXPECT_EQ(back.questions[0].candidates, set.questions[0].candidates);
  const auto compat = make_compat(graph(), Protocol::kCold, 3);
  const auto compat_back = parse_compat(compat_questions_json(compat), compat_answers_json(compat), "c.json");
  EXPECT_EQ(compat_back.outfits, compat.outfits);
  EXPECT_EQ(compat_back.labels, compat.labels);

  auto bad = fitb_questions_json(set);
  bad["questions"][1]["candidates"] = "x";
  try {
    parse_fitb(bad, nullptr, "q.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q.json: questions[1].candidates"), std::string::npos) << e.what();
  }
  auto wrong = fitb_answers_json(set);
  wrong["answers"][0]["answer"] = -5;
  EXPECT_THROW(parse_fitb(fitb_questions_json(set), wrong, "q.json"), Error);
}

}  // namespace
}  // namespace mystyle::eval
