#include "mystyle/eval/similarity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle::eval {
namespace {

// Two types: rows 0-2 of type 0, rows 3-4 of type 1, row 5 untyped.
const std::vector<int> kTypes = {0, 0, 0, 1, 1, -1};

TEST(SimilarityPairs, AllPairsWhenFewEnough) {
  const SimilarityPairs p = make_similarity_pairs(kTypes, 100, 1);
  EXPECT_FALSE(p.same_type_sampled);
  EXPECT_FALSE(p.random_sampled);
  const std::set<std::pair<std::uint32_t, std::uint32_t>> same(p.same_type.begin(), p.same_type.end());
  EXPECT_EQ(same, (std::set<std::pair<std::uint32_t, std::uint32_t>>{{0, 1}, {0, 2}, {1, 2}, {3, 4}}));
  EXPECT_EQ(p.same_type.size(), 4u);
  EXPECT_EQ(p.random.size(), 15u);  // 6 choose 2
}

// Sampled pairs are same-type, ordered, seeded, and drawn uniformly over pairs: type 0's 4950
// pairs against type 1's 1770 (drawing an item first would give type 0 only 100 / 160).
TEST(SimilarityPairs, SampledUniformlyOverPairs) {
  std::vector<int> types(100, 0);
  types.insert(types.end(), 60, 1);
  const std::size_t max_pairs = 5000;
  const SimilarityPairs p = make_similarity_pairs(types, max_pairs, 7);
  ASSERT_TRUE(p.same_type_sampled);
  ASSERT_TRUE(p.random_sampled);  // 12720 pairs in all
  ASSERT_EQ(p.same_type.size(), max_pairs);
  ASSERT_EQ(p.random.size(), max_pairs);
  std::size_t of_type0 = 0;
  for (const auto& [a, b] : p.same_type) {
    ASSERT_LT(a, b);
    ASSERT_EQ(types[a], types[b]);
    of_type0 += types[a] == 0;
  }
  EXPECT_NEAR(static_cast<double>(of_type0) / max_pairs, 4950.0 / 6720.0, 0.025);  // 4 standard deviations
  std::size_t both_type1 = 0;
  for (const auto& [a, b] : p.random) {
    ASSERT_LT(a, b);
    both_type1 += types[a] == 1 && types[b] == 1;
  }
  EXPECT_NEAR(static_cast<double>(both_type1) / max_pairs, 1770.0 / 12720.0, 0.02);
  EXPECT_EQ(make_similarity_pairs(types, max_pairs, 7).random, p.random);
  EXPECT_NE(make_similarity_pairs(types, max_pairs, 8).same_type, p.same_type);
}

// numpy.quantile(values, q) with its default linear interpolation.
TEST(Similarity, QuantileInterpolatesLikeNumpy) {
  const std::vector<float> v = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(quantile(v, 0.05), 1.2);
  EXPECT_DOUBLE_EQ(quantile(v, 0.25), 2.0);
  EXPECT_DOUBLE_EQ(quantile(v, 0.5), 3.0);
  EXPECT_NEAR(quantile(v, 0.95), 4.8, 1e-12);
  EXPECT_DOUBLE_EQ(quantile(std::vector<float>{2.5f}, 0.75), 2.5);
  EXPECT_DOUBLE_EQ(quantile(std::vector<float>{}, 0.5), 0.0);
}

// The AUC against a direct count over every (same-type, random) pair of pairs on a tiny example.
TEST(Similarity, AucAgreesWithADirectCount) {
  const std::vector<float> v = {1, 0, 0.9f, 0.3f, 0.7f, 0.7f, 0, 1, 0.2f, 0.9f, -1, 0.1f};  // 6 rows of 2
  const SimilarityPairs pairs = make_similarity_pairs(kTypes, 100, 1);
  const SimilarityDistribution d = similarity_distribution("t", v, 2, pairs);
  auto cosine = [&](std::uint32_t a, std::uint32_t b) {
    const double dot = double(v[2 * a]) * v[2 * b] + double(v[2 * a + 1]) * v[2 * b + 1];
    return dot / std::hypot(v[2 * a], v[2 * a + 1]) / std::hypot(v[2 * b], v[2 * b + 1]);
  };
  double wins = 0;
  std::vector<float> same;
  for (const auto& [a, b] : pairs.same_type) {
    same.push_back(static_cast<float>(cosine(a, b)));
    for (const auto& [c, e] : pairs.random) {
      const double s = cosine(a, b), r = cosine(c, e);
      wins += std::abs(s - r) < 1e-6 ? 0.5 : s > r ? 1.0 : 0.0;
    }
  }
  EXPECT_NEAR(d.auc, wins / static_cast<double>(pairs.same_type.size() * pairs.random.size()), 1e-9);
  ASSERT_EQ(d.same_type_scores.size(), same.size());
  for (std::size_t i = 0; i < same.size(); ++i) EXPECT_NEAR(d.same_type_scores[i], same[i], 1e-6);
  EXPECT_NEAR(d.same_type[2], quantile(same, 0.5), 1e-6);
  EXPECT_THROW(similarity_distribution("t", v, 5, pairs), Error);
  const cv::Mat plot = plot_similarity(d, "t");
  EXPECT_EQ(plot.cols, 800);
  EXPECT_EQ(plot.rows, 480);
}

TEST(SimilarityScale, JsonRoundTripAndClearErrors) {
  const SimilarityScale scale{"style", {0.1, 0.3, 0.5, 0.6, 0.8}};
  testing::TempDir dir;
  const auto path = testing::write_file(dir / "s.json", to_json(scale).dump());
  const SimilarityScale back = load_similarity_scale(path);
  EXPECT_EQ(back.model, "style");
  EXPECT_EQ(back.same_type, scale.same_type);
  nlohmann::json bad = to_json(scale);
  bad["same_type"][1] = 0.9;  // not ascending
  try {
    similarity_scale_from_json(bad, "s.json");
    FAIL() << "accepted a descending scale";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.json: field 'same_type'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_similarity_scale(testing::write_file(dir / "t.json", "{")), Error);
}

}  // namespace
}  // namespace mystyle::eval
