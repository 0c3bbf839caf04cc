#include "mystyle/recommend/complete.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "mystyle/catalog/import.h"
#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle::recommend {
namespace {

using catalog::Slot;
using Ids = std::vector<std::int64_t>;

/// PairScores from explicit tables; unlisted pairs score `fallback`. Fails the test when the search
/// asks about a pair out of order (the contract promises a < b).
class TableScores : public PairScores {
 public:
  float with_query(std::int64_t item) const override {
    auto it = query.find(item);
    return it == query.end() ? fallback : it->second;
  }
  float between(std::int64_t a, std::int64_t b) const override {
    if (a >= b) ADD_FAILURE() << "between(" << a << ", " << b << ") out of order";
    auto it = pairs.find({a, b});
    return it == pairs.end() ? fallback : it->second;
  }
  bool near_identical(std::int64_t a, std::int64_t b) const override {
    if (a >= b) ADD_FAILURE() << "near_identical(" << a << ", " << b << ") out of order";
    return same.contains({a, b});
  }
  void set_pair(std::int64_t a, std::int64_t b, float score) {
    pairs[{std::min(a, b), std::max(a, b)}] = score;
  }
  void set_same(std::int64_t a, std::int64_t b) { same.insert({std::min(a, b), std::max(a, b)}); }

  float fallback = 0.5f;
  std::map<std::int64_t, float> query;
  std::map<std::pair<std::int64_t, std::int64_t>, float> pairs;
  std::set<std::pair<std::int64_t, std::int64_t>> same;
};

Ids ids_of(const CompletedOutfit& outfit) {
  Ids ids;
  for (const auto& p : outfit.pieces) ids.push_back(p.item);
  return ids;
}

Ids ids_of(const SlotCandidates& candidates) {
  Ids ids;
  for (const auto& p : candidates.pieces) ids.push_back(p.item);
  return ids;
}

/// A real catalog from CSV text; `image` = "img.jpg" gives an item a photo (an existing file).
class CatalogFixture : public ::testing::Test {
 protected:
  void load(const std::string& items_csv, const std::string& outfits_csv) {
    testing::write_file(dir_ / "img.jpg", "not really a jpeg");
    const auto items =
        testing::write_file(dir_ / "items.csv", "id,name,category,url,slot,image\n" + items_csv);
    const auto outfits = testing::write_file(dir_ / "outfits.csv", "outfit_id,item_id,slot\n" + outfits_csv);
    catalog::import_csv(cat_, items, outfits, "t");
    graph_ = OutfitGraph::load(cat_);
  }
  std::int64_t id(const std::string& source_id) { return cat_.find_item_by_source("t", source_id)->id; }
  Ids ids(std::initializer_list<const char*> source_ids) {
    Ids out;
    for (const char* s : source_ids) out.push_back(id(s));
    return out;
  }

  testing::TempDir dir_;
  catalog::Catalog cat_{dir_ / "ws"};
  OutfitGraph graph_;
};

/// Counted by hand below. t1 is a main_top filed as inner_top in o3: the item's own slot counts.
class DefaultSlotsTest : public CatalogFixture {
 protected:
  void SetUp() override {
    load(
        "t1,Tee,Tops,u,main_top,\nt2,Tee,Tops,u,main_top,\nc1,Coat,Coats,u,main_top,\n"
        "b1,Jeans,Jeans,u,bottom,\nb2,Skirt,Skirts,u,bottom,\ns1,Shoe,Shoes,u,shoes,\ns2,Shoe,Shoes,u,shoes,"
        "\n"
        "g1,Bag,Bags,u,bag,\nh1,Hat,Hats,u,hat,\nx1,Candle,Home,u,other,\na1,Ring,Jewellery,u,accessory,\n",
        "o1,t1,\no1,b1,\no1,s1,\n"
        "o2,t2,\no2,b2,\no2,g1,\n"
        "o3,t1,inner_top\no3,b1,\no3,x1,\n"
        "o4,t2,\no4,s2,\no4,a1,\n"
        "o5,t1,\no5,h1,\n"
        "o6,b1,\no6,s1,\n"
        "o7,c1,\no7,t1,inner_top\no7,b2,\n");
  }
};

// Outfits holding a main_top: o1 o2 o3 o4 o5 o7 (6; o7's two tops count once). Worn with them:
// bottom 4 (o1 o2 o3 o7), shoes 2 (o1 o4), hat 1 (o5), bag 1 (o2), accessory 1 (o4), other 1 (o3).
TEST_F(DefaultSlotsTest, SharesAndOrderMatchAHandCount) {
  EXPECT_EQ(default_slots(graph_, Slot::kMainTop),
            (std::vector<Slot>{Slot::kBottom, Slot::kShoes}));  // 4/6, 2/6
  EXPECT_EQ(default_slots(graph_, Slot::kMainTop, 0.5), (std::vector<Slot>{Slot::kBottom}));
  // 1/6 each for hat, bag, accessory: ties in slot order; `other` never; unseen slots never.
  const std::vector<Slot> all = {Slot::kBottom, Slot::kShoes, Slot::kHat, Slot::kBag, Slot::kAccessory};
  EXPECT_EQ(default_slots(graph_, Slot::kMainTop, 1.0 / 6.0), all);
  EXPECT_EQ(default_slots(graph_, Slot::kMainTop, 0.0), all);
  // Outfits holding shoes: o1 o4 o6 (3). main_top 2 (o1 o4), bottom 2 (o1 o6), accessory 1 (o4).
  EXPECT_EQ(default_slots(graph_, Slot::kShoes),
            (std::vector<Slot>{Slot::kMainTop, Slot::kBottom, Slot::kAccessory}));
}

TEST_F(DefaultSlotsTest, EmptyWhenNoOutfitHoldsTheSlot) {
  EXPECT_TRUE(default_slots(graph_, Slot::kDress).empty());
  EXPECT_TRUE(default_slots(graph_, Slot::kInnerTop).empty());  // only member slots say inner_top
}

/// Four photographed pieces in each of main_top, bottom (two Jeans, two Skirts) and shoes, plus pieces
/// without a photo (t5, b5, the only bag g1) and a hat.
class CompleteTest : public CatalogFixture {
 protected:
  void SetUp() override {
    load(
        "t1,Tee,Tops,u,main_top,img.jpg\nt2,Tee,Tops,u,main_top,img.jpg\nt3,Tee,Tops,u,main_top,img.jpg\n"
        "t4,Tee,Tops,u,main_top,img.jpg\nt5,Tee,Tops,u,main_top,\n"
        "b1,Jeans,Jeans,u,bottom,img.jpg\nb2,Jeans,Jeans,u,bottom,img.jpg\n"
        "b3,Skirt,Skirts,u,bottom,img.jpg\nb4,Skirt,Skirts,u,bottom,img.jpg\nb5,Jeans,Jeans,u,bottom,\n"
        "s1,Shoe,Shoes,u,shoes,img.jpg\ns2,Shoe,Shoes,u,shoes,img.jpg\ns3,Shoe,Shoes,u,shoes,img.jpg\n"
        "s4,Shoe,Shoes,u,shoes,img.jpg\ng1,Bag,Bags,u,bag,\nh1,Hat,Hats,u,hat,img.jpg\n",
        "o1,t1,\no1,b1,\no1,s1,\no2,t2,\no2,b2,\no3,t3,\no3,b3,\no3,s3,\no3,g1,\no4,b4,\no4,s4,\no5,t4,\no5,"
        "h1,\n");
  }
  CompleteOptions options_for(std::vector<Slot> slots) {
    CompleteOptions options;
    options.slots = std::move(slots);
    return options;
  }
  const std::vector<Slot> three_ = {Slot::kMainTop, Slot::kBottom, Slot::kShoes};
};

TEST_F(CompleteTest, ProposedPiecesExistHaveAPhotoAndFitTheirSlot) {
  TableScores scores;
  CompleteOptions options;  // default slots: bottom 3/4, shoes 2/4, hat 1/4, bag 1/4 (no photo: dropped)
  options.outfits = 5;
  options.max_shared = 1.0;
  const auto result = complete_outfits(graph_, scores, Slot::kMainTop, options);
  EXPECT_EQ(result.query_slot, Slot::kMainTop);
  EXPECT_EQ(result.slots, (std::vector<Slot>{Slot::kBottom, Slot::kShoes, Slot::kHat}));
  ASSERT_EQ(result.candidates.size(), result.slots.size());
  const auto check = [&](const ScoredPiece& piece, Slot slot) {
    const catalog::Item* item = graph_.item(piece.item);
    ASSERT_NE(item, nullptr);
    EXPECT_TRUE(item->image_path.has_value()) << item->source_id;
    EXPECT_EQ(item->slot, slot);
    EXPECT_EQ(piece.slot, slot);
    EXPECT_NE(piece.slot, Slot::kMainTop);
  };
  for (std::size_t i = 0; i < result.slots.size(); ++i) {
    EXPECT_EQ(result.candidates[i].slot, result.slots[i]);
    for (const auto& piece : result.candidates[i].pieces) check(piece, result.slots[i]);
  }
  EXPECT_EQ(ids_of(result.candidates[0]), ids({"b1", "b2", "b3", "b4"}));  // b5 has no photo
  ASSERT_EQ(result.outfits.size(), 5u);
  for (const auto& outfit : result.outfits) {
    ASSERT_EQ(outfit.pieces.size(), result.slots.size());
    for (std::size_t i = 0; i < outfit.pieces.size(); ++i) check(outfit.pieces[i], result.slots[i]);
    Ids sorted = ids_of(outfit);
    std::ranges::sort(sorted);
    EXPECT_EQ(std::ranges::adjacent_find(sorted), sorted.end());
  }
}

TEST_F(CompleteTest, CategoryFilterKeepsOnlyThatCategory) {
  TableScores scores;
  auto options = options_for(three_);
  options.category = "Jeans";
  const auto result = complete_outfits(graph_, scores, Slot::kHat, options);
  // Tops and shoes have no Jeans: those slots are dropped, not an error.
  ASSERT_EQ(result.slots, (std::vector<Slot>{Slot::kBottom}));
  EXPECT_EQ(ids_of(result.candidates[0]), ids({"b1", "b2"}));
  ASSERT_EQ(result.outfits.size(), 2u);
  for (const auto& outfit : result.outfits) {
    ASSERT_EQ(outfit.pieces.size(), 1u);
    EXPECT_EQ(graph_.item(outfit.pieces[0].item)->category, "Jeans");
    EXPECT_EQ(outfit.pairs.size(), 1u);  // the query pair alone
  }
}

TEST_F(CompleteTest, QuerySlotAndDuplicatesAreDropped) {
  TableScores scores;
  const auto options =
      options_for({Slot::kMainTop, Slot::kShoes, Slot::kMainTop, Slot::kBottom, Slot::kShoes});
  const auto result = complete_outfits(graph_, scores, Slot::kMainTop, options);
  EXPECT_EQ(result.slots, (std::vector<Slot>{Slot::kShoes, Slot::kBottom}));
  for (const auto& outfit : result.outfits) {
    for (const auto& piece : outfit.pieces) EXPECT_NE(piece.slot, Slot::kMainTop);
  }
  // Only the query's slot asked for: nothing to fill.
  const auto alone = complete_outfits(graph_, scores, Slot::kMainTop, options_for({Slot::kMainTop}));
  EXPECT_TRUE(alone.slots.empty());
  EXPECT_TRUE(alone.candidates.empty());
  EXPECT_TRUE(alone.outfits.empty());
}

TEST_F(CompleteTest, SlotWithoutCandidateIsDropped) {
  TableScores scores;
  const auto result =
      complete_outfits(graph_, scores, Slot::kMainTop, options_for({Slot::kBag, Slot::kBottom}));
  EXPECT_EQ(result.slots, (std::vector<Slot>{Slot::kBottom}));  // the only bag has no photo
  ASSERT_EQ(result.candidates.size(), 1u);
  EXPECT_EQ(result.candidates[0].slot, Slot::kBottom);
  ASSERT_FALSE(result.outfits.empty());
  EXPECT_EQ(result.outfits[0].pieces.size(), 1u);
  EXPECT_TRUE(complete_outfits(graph_, scores, Slot::kMainTop, options_for({Slot::kBag})).outfits.empty());
}

TEST_F(CompleteTest, CandidatesRankedByQueryScoreThenIdAndLimited) {
  TableScores scores;
  scores.query = {{id("b3"), 0.9f}, {id("b2"), 0.7f}, {id("b4"), 0.7f}, {id("b1"), 0.1f}};
  auto options = options_for({Slot::kBottom, Slot::kShoes});
  options.per_slot = 3;
  options.outfits = 2;
  const auto result = complete_outfits(graph_, scores, Slot::kMainTop, options);
  ASSERT_EQ(result.candidates.size(), 2u);
  EXPECT_EQ(ids_of(result.candidates[0]), ids({"b3", "b2", "b4"}));
  EXPECT_FLOAT_EQ(result.candidates[0].pieces[0].with_query, 0.9f);
  EXPECT_EQ(ids_of(result.candidates[1]), ids({"s1", "s2", "s3"}));  // all 0.5: by id
  EXPECT_EQ(result.outfits.size(), 2u);

  options.outfits = 0;
  const auto none = complete_outfits(graph_, scores, Slot::kMainTop, options);
  EXPECT_TRUE(none.outfits.empty());
  EXPECT_EQ(none.candidates.size(), 2u);
}

// The search considers max(pool, per_slot) pieces per slot: t3 ranks third alone but makes the
// best outfit with b1, so pool 1 finds it only when per_slot lets three tops in.
TEST_F(CompleteTest, SearchDepthIsPoolOrPerSlot) {
  TableScores scores;
  scores.query = {{id("t1"), 0.9f}, {id("t2"), 0.8f}, {id("t3"), 0.7f}, {id("t4"), 0.1f}, {id("b1"), 0.9f}};
  scores.set_pair(id("t3"), id("b1"), 1.0f);
  scores.set_pair(id("t1"), id("b1"), 0.0f);
  auto options = options_for({Slot::kMainTop, Slot::kBottom});
  options.pool = 1;
  options.per_slot = 1;
  options.outfits = 1;
  EXPECT_EQ(ids_of(complete_outfits(graph_, scores, Slot::kHat, options).outfits.at(0)), ids({"t1", "b1"}));
  options.per_slot = 3;
  EXPECT_EQ(ids_of(complete_outfits(graph_, scores, Slot::kHat, options).outfits.at(0)), ids({"t3", "b1"}));
}

// With beam >= 16 (= 4 tops x 4 bottoms), the search is exhaustive: its ranking must equal the
// brute-force ranking of all 64 outfits by mean pair score, on random tables.
TEST_F(CompleteTest, BeamSearchMatchesBruteForce) {
  const Ids tops = ids({"t1", "t2", "t3", "t4"}), bottoms = ids({"b1", "b2", "b3", "b4"});
  const Ids shoes = ids({"s1", "s2", "s3", "s4"});
  Ids all = tops;
  all.insert(all.end(), bottoms.begin(), bottoms.end());
  all.insert(all.end(), shoes.begin(), shoes.end());
  for (unsigned seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    TableScores scores;
    for (auto a : all) scores.query[a] = uniform(rng);
    for (auto a : all) {
      for (auto b : all) {
        if (a < b) scores.set_pair(a, b, uniform(rng));
      }
    }
    struct Expected {
      Ids ids;
      double score;
    };
    std::vector<Expected> expected;
    for (auto t : tops) {
      for (auto b : bottoms) {
        for (auto s : shoes) {
          const Ids o = {t, b, s};
          double sum = 0;
          for (auto x : o) sum += scores.with_query(x);
          sum += scores.between(std::min(t, b), std::max(t, b));
          sum += scores.between(std::min(t, s), std::max(t, s));
          sum += scores.between(std::min(b, s), std::max(b, s));
          expected.push_back({o, sum / 6.0});
        }
      }
    }
    std::ranges::sort(expected, [](const Expected& x, const Expected& y) {
      return x.score != y.score ? x.score > y.score : x.ids < y.ids;
    });

    auto options = options_for(three_);
    options.pool = 4;
    options.per_slot = 4;
    options.outfits = 64;
    options.beam = 64;
    options.max_shared = 1.0;  // rank every outfit: no two are the same
    const auto full = complete_outfits(graph_, scores, Slot::kHat, options);
    ASSERT_EQ(full.outfits.size(), 64u);
    for (std::size_t i = 0; i < 64; ++i) {
      EXPECT_EQ(ids_of(full.outfits[i]), expected[i].ids) << "rank " << i;
      EXPECT_NEAR(full.outfits[i].score, expected[i].score, 1e-12) << "rank " << i;
    }
    options.beam = 16;
    options.outfits = 16;
    const auto narrow = complete_outfits(graph_, scores, Slot::kHat, options);
    ASSERT_EQ(narrow.outfits.size(), 16u);
    for (std::size_t i = 0; i < 16; ++i)
      EXPECT_EQ(ids_of(narrow.outfits[i]), expected[i].ids) << "rank " << i;
  }
}

TEST_F(CompleteTest, PairsListEveryPairBestFirstAndAverageToTheScore) {
  TableScores scores;
  scores.fallback = 0.0f;
  scores.query = {{id("t1"), 0.9f}, {id("b1"), 0.2f}, {id("s1"), 0.6f}};
  scores.set_pair(id("t1"), id("b1"), 0.8f);
  scores.set_pair(id("t1"), id("s1"), 0.6f);  // ties with the query pair of s1
  scores.set_pair(id("b1"), id("s1"), 0.3f);
  auto options = options_for(three_);
  options.pool = 1;
  options.per_slot = 1;
  options.outfits = 1;
  const auto result = complete_outfits(graph_, scores, Slot::kHat, options);
  ASSERT_EQ(result.outfits.size(), 1u);
  const auto& outfit = result.outfits[0];
  EXPECT_EQ(ids_of(outfit), ids({"t1", "b1", "s1"}));
  std::vector<std::tuple<int, int, float>> pairs;
  for (const auto& p : outfit.pairs) pairs.emplace_back(p.a, p.b, p.score);
  const std::vector<std::tuple<int, int, float>> expected = {{-1, 0, 0.9f}, {0, 1, 0.8f}, {-1, 2, 0.6f},
                                                             {0, 2, 0.6f},  {1, 2, 0.3f}, {-1, 1, 0.2f}};
  EXPECT_EQ(pairs, expected);
  double sum = 0;
  for (const auto& p : outfit.pairs) sum += p.score;
  EXPECT_NEAR(outfit.score, sum / 6.0, 1e-12);
}

// The runner-up differs from the best only by b2, near-identical to b1: it is the same suggestion.
TEST_F(CompleteTest, NearIdenticalOutfitsAreSkipped) {
  TableScores scores;  // every between() is 0.5, so the ranking is the sum of with_query
  scores.query = {{id("t1"), 0.9f}, {id("t2"), 0.5f},  {id("t3"), 0.4f}, {id("t4"), 0.0f},
                  {id("b1"), 0.8f}, {id("b2"), 0.79f}, {id("b3"), 0.3f}, {id("b4"), 0.2f},
                  {id("s1"), 0.7f}, {id("s2"), 0.6f},  {id("s3"), 0.1f}, {id("s4"), 0.0f}};
  auto options = options_for(three_);
  options.outfits = 3;
  // An outfit sharing more than half of its slots (here 2 of 3) with a chosen one is a variation.
  const auto plain = complete_outfits(graph_, scores, Slot::kHat, options);
  ASSERT_EQ(plain.outfits.size(), 3u);
  EXPECT_EQ(ids_of(plain.outfits[0]), ids({"t1", "b1", "s1"}));  // 2.40
  // t1 b2 s1 (2.39) and t1 b1 s2 (2.30) share two pieces with it; t1 b2 s2 (2.29) shares one.
  EXPECT_EQ(ids_of(plain.outfits[1]), ids({"t1", "b2", "s2"}));
  // t2 b1 s1 (2.00) shares b1 and s1 with the first; t2 b2 s1 (1.99) one piece with each.
  EXPECT_EQ(ids_of(plain.outfits[2]), ids({"t2", "b2", "s1"}));

  scores.set_same(id("b1"), id("b2"));  // now b2 counts as b1
  const auto diverse = complete_outfits(graph_, scores, Slot::kHat, options);
  ASSERT_EQ(diverse.outfits.size(), 3u);
  EXPECT_EQ(ids_of(diverse.outfits[0]), ids({"t1", "b1", "s1"}));
  // Everything down to 1.99 shares two slots with it through b1 ~ b2; of the outfits at 1.90
  // t1 b3 s1 and t3 b1 s1 share two, t2 b1 s2 only b1.
  EXPECT_EQ(ids_of(diverse.outfits[1]), ids({"t2", "b1", "s2"}));
  // At 1.89 t2 b2 s2 repeats the second (t2, b, s2) and t3 b2 s1 the first (b, s1); at 1.80
  // t1 b1 s3 repeats the first, t1 b3 s2 shares one piece with each.
  EXPECT_EQ(ids_of(diverse.outfits[2]), ids({"t1", "b3", "s2"}));
}

TEST_F(CompleteTest, DeterministicWithTiesBrokenById) {
  TableScores scores;  // every score ties
  auto options = options_for(three_);
  options.outfits = 4;
  options.max_shared = 1.0;
  const auto first = complete_outfits(graph_, scores, Slot::kHat, options);
  const auto second = complete_outfits(graph_, scores, Slot::kHat, options);
  ASSERT_EQ(first.outfits.size(), 4u);
  ASSERT_EQ(second.outfits.size(), 4u);
  EXPECT_EQ(first.slots, second.slots);
  for (std::size_t i = 0; i < first.candidates.size(); ++i) {
    EXPECT_EQ(ids_of(first.candidates[i]), ids_of(second.candidates[i]));
  }
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(ids_of(first.outfits[i]), ids_of(second.outfits[i]));
    EXPECT_EQ(first.outfits[i].score, second.outfits[i].score);
    ASSERT_EQ(first.outfits[i].pairs.size(), second.outfits[i].pairs.size());
    for (std::size_t k = 0; k < first.outfits[i].pairs.size(); ++k) {
      EXPECT_EQ(first.outfits[i].pairs[k].a, second.outfits[i].pairs[k].a);
      EXPECT_EQ(first.outfits[i].pairs[k].b, second.outfits[i].pairs[k].b);
    }
  }
  // Lexicographic by ids, slot by slot.
  EXPECT_EQ(ids_of(first.outfits[0]), ids({"t1", "b1", "s1"}));
  EXPECT_EQ(ids_of(first.outfits[1]), ids({"t1", "b1", "s2"}));
  EXPECT_EQ(ids_of(first.outfits[2]), ids({"t1", "b1", "s3"}));
  EXPECT_EQ(ids_of(first.outfits[3]), ids({"t1", "b1", "s4"}));
  // Tied pairs: query pairs first, then by indexes.
  const auto& pairs = first.outfits[0].pairs;
  ASSERT_EQ(pairs.size(), 6u);
  EXPECT_EQ(std::pair(pairs[0].a, pairs[0].b), std::pair(-1, 0));
  EXPECT_EQ(std::pair(pairs[2].a, pairs[2].b), std::pair(-1, 2));
  EXPECT_EQ(std::pair(pairs[3].a, pairs[3].b), std::pair(0, 1));
  EXPECT_EQ(std::pair(pairs[5].a, pairs[5].b), std::pair(1, 2));
}

TEST_F(CompleteTest, ZeroLimitsAreInvalidInput) {
  TableScores scores;
  for (const char* option : {"per_slot", "pool", "beam", "max_shared"}) {
    SCOPED_TRACE(option);
    auto options = options_for(three_);
    if (std::string(option) == "per_slot") options.per_slot = 0;
    if (std::string(option) == "pool") options.pool = 0;
    if (std::string(option) == "beam") options.beam = 0;
    if (std::string(option) == "max_shared") options.max_shared = 1.5;
    try {
      complete_outfits(graph_, scores, Slot::kHat, options);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace mystyle::recommend
