#include "mystyle/eval/retrieval.h"

#include <gtest/gtest.h>

#include <random>

#include "engine/engine_fixture.h"
#include "mystyle/core/error.h"
#include "mystyle/eval/simple_features.h"
#include "mystyle/index/exact_index.h"

namespace mystyle::eval {
namespace {

ItemLabels labels_of(std::vector<std::array<int, kLabelCount>> codes) {
  return {std::move(codes)};
}

// Two tight pairs of types A and B: every nearest neighbour has the query's type.
TEST(Retrieval, PerfectClustersScoreOne) {
  const std::vector<std::int64_t> ids = {1, 2, 3, 4};
  const std::vector<float> v = {1, 0, 0.9f, 0.1f, 0, 1, 0.1f, 0.9f};
  const auto labels = labels_of({{0, 0, 0, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}, {1, 0, 0, 1}});
  const RetrievalRow r = evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 3, 1);
  EXPECT_EQ(r.queries, 4u);
  EXPECT_DOUBLE_EQ(r.precision_at_1[0], 1.0);
  EXPECT_DOUBLE_EQ(r.precision_at_k[0], 1.0 / 3.0);  // one other item of the type among 3 ranks
  EXPECT_DOUBLE_EQ(r.map_type, 1.0);
  EXPECT_DOUBLE_EQ(r.precision_at_1[1], 1.0);        // one family for all
  EXPECT_DOUBLE_EQ(r.precision_at_1[3], 0.0);        // colour alternates within each pair
  EXPECT_DOUBLE_EQ(r.precision_at_k[3], 1.0 / 3.0);  // query 1 ranks 2, 3, 4: only 3 shares its colour
}

// Item 1's nearest neighbour is of the other type: its AP is (1/2), the others' 1.
TEST(Retrieval, MistakesLowerPrecisionAndAveragePrecision) {
  const std::vector<std::int64_t> ids = {1, 2, 3};
  const std::vector<float> v = {0, 0, 1, 0.5f, 0, 1, 0, 0, 1};  // 1 and 3 identical, 2 apart
  const auto labels = labels_of({{0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}});
  const RetrievalRow r = evaluate_vectors("t", ids, v, 3, index::Metric::kEuclidean, labels, 1, 1);
  // Queries: 1 -> [3, 2] (miss), 2 -> [1 or 3 ...], 3 -> [1, 2] (miss). Item 3 is alone in its type.
  EXPECT_DOUBLE_EQ(r.precision_at_1[0], 1.0 / 3.0);
  EXPECT_EQ(r.map_queries, 2u);
  EXPECT_DOUBLE_EQ(r.map_type, (0.5 + 1.0) / 2.0);
}

// With views, an item scores as the best of its own vector and its views: a view of item 3 equal to
// item 1 makes 3 item 1's nearest neighbour (a hit, same type), where without views 2 was (a miss).
TEST(Retrieval, AnItemScoresAsItsBestView) {
  const std::vector<std::int64_t> ids = {1, 2, 3};
  const std::vector<float> v = {1, 0, 0.8f, 0.6f, 0, 1};
  const auto labels = labels_of({{0, 0, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 0}});
  const RetrievalRow plain = evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 1, 1);
  const std::vector<float> views = {1, 0, 0.8f, 0.6f, 1, 0};  // one view per item; item 3's equals item 1
  const RetrievalRow with = evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 1, 1, views, 1);
  // Queries: 1 -> 2 (miss) / 3 (hit); 2 -> 1 either way (miss); 3 -> 2 (miss) either way.
  EXPECT_DOUBLE_EQ(plain.precision_at_1[0], 0.0);
  EXPECT_DOUBLE_EQ(with.precision_at_1[0], 1.0 / 3.0);
  // Views equal to the items' own vectors change nothing.
  const RetrievalRow same = evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 1, 1, v, 1);
  EXPECT_DOUBLE_EQ(same.precision_at_1[0], plain.precision_at_1[0]);
  EXPECT_DOUBLE_EQ(same.map_type, plain.map_type);
  EXPECT_THROW(evaluate_vectors("t", ids, v, 2, index::Metric::kCosine, labels, 1, 1, views, 2), Error);
}

// The trusted reference: precision@1 and @5 from ExactIndex searches, for every metric.
TEST(Retrieval, AgreesWithTheExactIndex) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  const std::size_t n = 300, dim = 12, k = 5;
  std::vector<std::int64_t> ids;
  std::vector<float> v;
  std::vector<std::array<int, kLabelCount>> codes;
  for (std::size_t i = 0; i < n; ++i) {
    ids.push_back(static_cast<std::int64_t>(i) + 100);
    const int type = static_cast<int>(rng() % 5);
    for (std::size_t t = 0; t < dim; ++t)
      v.push_back(u(rng) + (t == static_cast<std::size_t>(type) ? 1.5f : 0.0f));
    codes.push_back({type, type / 2, 0, static_cast<int>(rng() % 3)});
  }
  for (auto metric : {index::Metric::kCosine, index::Metric::kEuclidean, index::Metric::kPearson}) {
    index::ExactIndex idx(dim, metric);
    idx.add(ids, v);
    double p1 = 0, pk = 0;
    for (std::size_t q = 0; q < n; ++q) {
      const auto found = idx.search(std::span(v).subspan(q * dim, dim), k + 1);
      std::size_t rank = 0;
      for (const auto& nb : found) {
        if (nb.id == ids[q]) continue;
        const bool hit = codes[static_cast<std::size_t>(nb.id - 100)][0] == codes[q][0];
        if (rank == 0) p1 += hit;
        if (rank < k) pk += hit;
        ++rank;
      }
    }
    const RetrievalRow r = evaluate_vectors("t", ids, v, dim, metric, labels_of(codes), k, 2);
    EXPECT_NEAR(r.precision_at_1[0], p1 / n, 1e-12) << index::metric_name(metric);
    EXPECT_NEAR(r.precision_at_k[0], pk / (n * k), 1e-12) << index::metric_name(metric);
  }
}

TEST(Retrieval, RandomBaselineIsNearChance) {
  std::vector<std::int64_t> ids;
  std::vector<std::array<int, kLabelCount>> codes;
  for (int i = 0; i < 400; ++i) {
    ids.push_back(i + 1);
    codes.push_back({i % 4, i % 2, 0, -1});
  }
  const RetrievalRow r = evaluate_random(ids, labels_of(codes), 10, 1);
  EXPECT_NEAR(r.precision_at_k[0], 99.0 / 399.0, 0.02);
  EXPECT_NEAR(r.precision_at_k[1], 199.0 / 399.0, 0.02);
  EXPECT_DOUBLE_EQ(r.precision_at_k[2], 1.0);
  EXPECT_DOUBLE_EQ(r.precision_at_k[3], 0.0);  // no colour labels: no queries
}

// Real photos: features of every item, then the same values back from the workspace cache.
TEST(SimpleFeatures, ComputedFromRealPhotosAndCached) {
  MYSTYLE_REQUIRE_DATASET(mango, "mango/product_data.csv");
  testing::TempDir dir;
  ASSERT_TRUE(testing::import_mango_sample(dir.path(), 12));
  catalog::Catalog cat(dir.path());
  const auto items = cat.all_items();
  const SimpleFeatures first = load_simple_features(dir.path(), items, 2);
  EXPECT_FALSE(first.from_cache);
  ASSERT_EQ(first.size(), 12u);
  const SimpleFeatures second = load_simple_features(dir.path(), items, 2);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.ids, first.ids);
  EXPECT_EQ(second.hsv, first.hsv);
  EXPECT_EQ(second.colour, first.colour);
  for (std::size_t i = 0; i < first.size(); ++i) {
    float sum = 0;
    for (int b = 0; b < kHsvDim; ++b) sum += first.hsv[i * kHsvDim + static_cast<std::size_t>(b)];
    EXPECT_NEAR(sum, 1.0f, 1e-4);
  }
}

}  // namespace
}  // namespace mystyle::eval
