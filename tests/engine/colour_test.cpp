// Asking by colour (issue 24): a colour family given to recommend keeps exactly the exact ranking's items
// of that family (the reference: a brute-force cosine over the workspace's embedding files, restricted
// in the test), with and without the items' edited views; "this piece in other colours" lists exactly
// its design's other items (the design split here from the product code) and then the nearest items of
// its type in the family asked (the same reference); the words a shopper may use, and the errors.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "colour_reference.h"
#include "mystyle/catalog/colour_family.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/colour_query.h"
#include "mystyle/engine/other_colours.h"
#include "mystyle/engine/recommender.h"
#include "support/mango_workspace.h"

namespace mystyle::engine {
namespace {

RecommenderConfig seed64() {
  RecommenderConfig c;
  c.model = "seed64";
  return c;
}

/// 300 real MANGO products (the MANGO importer's colour families), seed64 trained one epoch, embedded;
/// a copy with the items' edited views embedded too.
class ColourTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ws_ = new testing::TempDir();
    views_ = new testing::TempDir();
    if (!testing::make_seed64_mango_workspace(ws_->path())) return;
    std::filesystem::copy(ws_->path(), views_->path(), std::filesystem::copy_options::recursive);
    embed_catalog_views(Workspace(views_->path()), "seed64", nn::LatentPooling::kFlat, 2);
    ready_ = true;
  }
  static void TearDownTestSuite() {
    delete ws_;
    delete views_;
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "MANGO data set absent";
  }
  /// The families of the catalog's items with a photo, most items first.
  static std::vector<std::pair<std::string, int>> families(const Recommender& rec) {
    std::map<std::string, int> count;
    for (const auto& item : rec.graph().items()) {
      if (item.image_path && !item.colour_family.empty()) ++count[item.colour_family];
    }
    std::vector<std::pair<std::string, int>> out(count.begin(), count.end());
    std::ranges::stable_sort(out, [](const auto& a, const auto& b) { return a.second > b.second; });
    return out;
  }
  static inline testing::TempDir* ws_ = nullptr;
  static inline testing::TempDir* views_ = nullptr;
  static inline bool ready_ = false;
};

/// `actual` is the first min(k, reference.size()) of `reference`: the same scores, the same items
/// wherever a score is not tied with a neighbour's (identical photos of two products tie exactly).
void expect_prefix_of(const std::vector<std::pair<std::int64_t, double>>& actual,
                      const std::vector<index::Neighbor>& reference, std::size_t k, const std::string& what) {
  ASSERT_EQ(actual.size(), std::min(k, reference.size())) << what;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i].second, reference[i].score, 1e-5) << what << " rank " << i + 1;
    const bool tied =
        (i > 0 && std::abs(reference[i - 1].score - reference[i].score) < 1e-6) ||
        (i + 1 < reference.size() && std::abs(reference[i + 1].score - reference[i].score) < 1e-6);
    if (!tied) {
      EXPECT_EQ(actual[i].first, reference[i].id) << what << " rank " << i + 1;
    }
  }
}

std::vector<std::pair<std::int64_t, double>> ids_scores(const RecommendResult& r) {
  std::vector<std::pair<std::int64_t, double>> out;
  for (const auto& s : r.similar) out.emplace_back(s.item->id, s.score);
  return out;
}

// recommend with a colour: every item of that family, and exactly the exact ranking restricted to it;
// a k above the family's size returns all of it. With and without the edited views.
TEST_F(ColourTest, RecommendKeepsTheExactRankingRestrictedToTheFamily) {
  for (const auto* dir : {ws_, views_}) {
    const Workspace w(dir->path());
    auto rec = Recommender::open(w, seed64());
    const bool with_views = dir == views_;
    ASSERT_EQ(rec->views_per_item() > 1, with_views);
    const Embeddings items = load_embeddings(w.embeddings_file("seed64", "flat"));
    std::optional<Embeddings> views;
    if (with_views) views = load_embeddings(views_file(w, "seed64", nn::LatentPooling::kFlat));
    const auto fams = families(*rec);
    ASSERT_GE(fams.size(), 4u) << "the sample should hold several colour families";
    int photos = 0;
    for (const auto& query : rec->graph().items()) {
      if (!query.image_path || photos == 3) continue;
      ++photos;
      RecommendRequest plain;
      plain.k = 12;
      const RecommendResult unfiltered = rec->recommend_file(*query.image_path, plain);
      // The most common family, one in the middle, and the rarest (fewer items than k).
      for (const auto& [family, count] : {fams.front(), fams[fams.size() / 2], fams.back()}) {
        RecommendRequest asked = plain;
        asked.colour_family = family;
        const RecommendResult r = rec->recommend_file(*query.image_path, asked);
        for (const auto& s : r.similar) EXPECT_EQ(s.item->colour_family, family) << s.item->source_id;
        const std::function<bool(std::int64_t)> of_family = [&](std::int64_t id) {
          const catalog::Item* item = rec->graph().item(id);
          return item != nullptr && item->colour_family == family;
        };
        const auto reference =
            testing::exact_ranking(unfiltered.embedding, items, views ? &*views : nullptr, of_family);
        EXPECT_EQ(reference.size(), static_cast<std::size_t>(count));
        expect_prefix_of(ids_scores(r), reference, asked.k,
                         fmt::format("{} {} views={}", query.source_id, family, with_views));
        EXPECT_EQ(rec->to_json(r, asked)["query"]["colour"], family);
      }
      EXPECT_TRUE(rec->to_json(unfiltered, plain)["query"]["colour"].is_null());
    }
    EXPECT_EQ(photos, 3);
  }
}

// With the category and the colour together, both hold.
TEST_F(ColourTest, ColourAndCategoryTogether) {
  auto rec = Recommender::open(Workspace(ws_->path()), seed64());
  const catalog::Item* query = nullptr;
  for (const auto& item : rec->graph().items()) {
    if (item.image_path && item.category == "Bottoms") query = &item;
  }
  ASSERT_NE(query, nullptr);
  RecommendRequest request;
  request.k = 30;
  request.category = query->category;
  request.colour_family = query->colour_family;
  const RecommendResult r = rec->recommend_file(*query->image_path, request);
  ASSERT_FALSE(r.similar.empty());
  for (const auto& s : r.similar) {
    EXPECT_EQ(s.item->category, query->category);
    EXPECT_EQ(s.item->colour_family, query->colour_family);
  }
}

TEST(ColourQuery, ReadsFamiliesAndColourNamesAndNamesTheFieldOtherwise) {
  EXPECT_EQ(parse_colour_query("blue", "--colour"), "blue");
  EXPECT_EQ(parse_colour_query("BLUE", "--colour"), "blue");
  EXPECT_EQ(parse_colour_query("Navy", "--colour"), "blue");
  EXPECT_EQ(parse_colour_query("gray", "--colour"), "grey");
  EXPECT_EQ(parse_colour_query("camel", "--colour"), "beige");
  EXPECT_EQ(parse_colour_query("NEGRO", "--colour"), "black");
  for (const auto family : catalog::kColourFamilies) EXPECT_EQ(parse_colour_query(family, "x"), family);
  for (const std::string bad : {"chartreuse", "", "moonbeam"}) {
    try {
      (void)parse_colour_query(bad, "parameter 'colour'");
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      const std::string message = e.what();
      EXPECT_TRUE(message.starts_with("parameter 'colour': '" + bad + "'")) << message;
      EXPECT_NE(message.find(catalog::colour_family_list()), std::string::npos) << message;
    }
  }
  // A request carries the canonical family only.
  RecommendRequest request;
  request.colour_family = "Blue";
  EXPECT_THROW(request.validate(), Error);
  request.colour_family = "blue";
  EXPECT_NO_THROW(request.validate());
}

/// The design of a MANGO product code, split here: "53000586-TO" -> "53000586".
std::string design(const std::string& source_id) {
  return source_id.substr(0, source_id.find('-'));
}

// Other colours: exactly the design's other items (ranked by the reference's scores), then the
// nearest items of its type in the family asked, other designs only, exactly the reference's ranking.
TEST_F(ColourTest, OtherColoursListTheDesignThenTheNearestOfTheFamily) {
  for (const auto* dir : {ws_, views_}) {
    const Workspace w(dir->path());
    auto rec = Recommender::open(w, seed64());
    const Embeddings items = load_embeddings(w.embeddings_file("seed64", "flat"));
    std::optional<Embeddings> views;
    if (dir == views_) views = load_embeddings(views_file(w, "seed64", nn::LatentPooling::kFlat));
    // Items whose design has other colours in the sample.
    std::map<std::string, std::vector<const catalog::Item*>> by_design;
    for (const auto& item : rec->graph().items()) by_design[design(item.source_id)].push_back(&item);
    int checked = 0;
    for (const auto& [d, members] : by_design) {
      if (members.size() < 2 || checked == 4) continue;
      const catalog::Item& asked = *members.front();
      if (!asked.image_path) continue;
      ++checked;
      const auto query = rec->item_embedding(asked.id);
      ASSERT_FALSE(query.empty());
      for (const std::optional<std::string>& family :
           {std::optional<std::string>{}, std::optional<std::string>{"black"},
            std::optional<std::string>{"blue"}}) {
        OtherColoursRequest request;
        request.k = 5;
        request.colour_family = family;
        const OtherColours found = find_other_colours(*rec, asked.id, request);
        EXPECT_EQ(found.item, &asked);
        std::set<std::int64_t> expected_design, got_design;
        for (const auto* m : members) {
          if (m->id != asked.id) expected_design.insert(m->id);
        }
        for (const auto& m : found.same_design) got_design.insert(m.item->id);
        EXPECT_EQ(got_design, expected_design) << asked.source_id;
        EXPECT_EQ(found.same_design.size(), expected_design.size()) << "each once";
        const auto design_reference =
            testing::exact_ranking(query, items, views ? &*views : nullptr,
                                   [&](std::int64_t id) { return expected_design.contains(id); });
        std::vector<std::pair<std::int64_t, double>> design_scores;
        for (const auto& m : found.same_design) {
          ASSERT_TRUE(m.score.has_value()) << "every item of the sample has a photo";
          design_scores.emplace_back(m.item->id, *m.score);
        }
        expect_prefix_of(design_scores, design_reference, design_reference.size(),
                         asked.source_id + " design");

        const auto wanted = [&](std::int64_t id) {
          const catalog::Item* item = rec->graph().item(id);
          if (item == nullptr || design(item->source_id) == design(asked.source_id) ||
              item->type != asked.type)
            return false;
          return family ? item->colour_family == *family
                        : !item->colour_family.empty() && item->colour_family != asked.colour_family;
        };
        const auto reference = testing::exact_ranking(query, items, views ? &*views : nullptr, wanted);
        std::vector<std::pair<std::int64_t, double>> nearest;
        for (const auto& m : found.nearest) {
          nearest.emplace_back(m.item->id, m.score.value_or(-2));
          EXPECT_EQ(m.item->type, asked.type);
          if (family) {
            EXPECT_EQ(m.item->colour_family, *family);
          }
        }
        expect_prefix_of(nearest, reference, request.k,
                         asked.source_id + " nearest " + family.value_or("other"));

        const nlohmann::json doc = other_colours_json(found, request);
        EXPECT_EQ(doc["item"]["item_id"], asked.id);
        EXPECT_EQ(doc["colour"], family ? nlohmann::json(*family) : nlohmann::json(nullptr));
        EXPECT_EQ(doc["same_design"].size(), found.same_design.size());
        ASSERT_EQ(doc["nearest"].size(), found.nearest.size());
        if (!found.nearest.empty()) {
          EXPECT_EQ(doc["nearest"][0]["rank"], 1);
        }
      }
    }
    EXPECT_EQ(checked, 4);
  }
}

TEST_F(ColourTest, OtherColoursRefuseAnUnknownItemAndABadRequest) {
  auto rec = Recommender::open(Workspace(ws_->path()), seed64());
  try {
    (void)find_other_colours(*rec, 987654321, {});
    ADD_FAILURE() << "an unknown id was answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("987654321"), std::string::npos);
  }
  const std::int64_t any = rec->graph().items().front().id;
  OtherColoursRequest request;
  request.k = 0;
  EXPECT_THROW((void)find_other_colours(*rec, any, request), Error);
  request.k = OtherColoursRequest::kMaxK + 1;
  EXPECT_THROW((void)find_other_colours(*rec, any, request), Error);
  request.k = 3;
  request.colour_family = "navy";  // a colour name, not yet read into its family
  EXPECT_THROW((void)find_other_colours(*rec, any, request), Error);
}

}  // namespace
}  // namespace mystyle::engine
