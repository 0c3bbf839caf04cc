#include "mystyle/index/faiss_index.h"

#include <gtest/gtest.h>

#include <unordered_set>

#include "index/test_vectors.h"
#include "mystyle/core/error.h"
#include "mystyle/index/exact_index.h"

namespace mystyle::index {
namespace {

constexpr std::size_t kDim = 128;

// Mean fraction of the exact top-k that the approximate index also returns.
double recall_at(const VectorIndex& approx, const VectorIndex& exact, const std::vector<float>& queries,
                 std::size_t k, const SearchParams& params = {}) {
  const auto got = approx.search_batch(queries, k, params);
  const auto want = exact.search_batch(queries, k, params);
  std::size_t hits = 0, total = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    std::unordered_set<std::int64_t> truth;
    for (const auto& n : want[i]) truth.insert(n.id);
    for (const auto& n : got[i]) hits += truth.count(n.id);
    total += want[i].size();
  }
  return total ? static_cast<double>(hits) / static_cast<double>(total) : 1.0;
}

void expect_recall_at_defaults(std::size_t n, Metric metric) {
  const auto v = testing::clustered_vectors(n, kDim, n / 100, 42);
  const auto ids = testing::sequential_ids(n, 1000);
  FaissIndex approx(kDim, metric);
  ExactIndex exact(kDim, metric);
  approx.add(ids, v);
  exact.add(ids, v);
  const auto queries = testing::clustered_vectors(200, kDim, n / 100, 43);  // same distribution
  const double recall = recall_at(approx, exact, queries, 10);
  ::testing::Test::RecordProperty("recall_at_10", std::to_string(recall));
  EXPECT_GE(recall, 0.99) << "n " << n << " metric " << metric_name(metric);
}

// Default HNSW settings must reach recall@10 >= 0.99 against the exact index. 20k items keep the
// suite fast (building 100k takes minutes on two cores); bench/index_bench checks 100k and 1M.
TEST(FaissIndex, RecallAt10On20kAtDefaults) {
  expect_recall_at_defaults(20'000, Metric::kCosine);
  expect_recall_at_defaults(20'000, Metric::kEuclidean);
  expect_recall_at_defaults(20'000, Metric::kPearson);
}

TEST(FaissIndex, ScoresMatchTheMetric) {
  FaissIndex index(2, Metric::kEuclidean);
  index.add(std::vector<std::int64_t>{1, 2, 3}, std::vector<float>{3, 4, 0, 0, 1, 0});
  const float q[] = {0, 0};
  const auto r = index.search(q, 5);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].id, 2);
  EXPECT_EQ(r[0].score, std::numeric_limits<double>::infinity());
  EXPECT_NEAR(r[2].score, 0.2, 1e-6);
  EXPECT_THROW(index.search(q, 1, {.metric = Metric::kCosine}), Error);
  const float wrong_dim[] = {1, 2, 3};
  EXPECT_THROW(index.search(wrong_dim, 1), Error);
  EXPECT_TRUE(FaissIndex(2, Metric::kCosine).search(q, 3).empty());
}

// Both filter paths (exact for short allow-lists, HNSW with a selector otherwise) return only
// allowed items, with high recall against the exact filtered search.
TEST(FaissIndex, FiltersReturnOnlyMatchingItems) {
  const std::size_t n = 20'000;
  const auto v = testing::clustered_vectors(n, kDim, 200, 5);
  FaissIndex approx(kDim, Metric::kCosine);
  ExactIndex exact(kDim, Metric::kCosine);
  approx.add(testing::sequential_ids(n), v);
  exact.add(testing::sequential_ids(n), v);
  const auto queries = testing::clustered_vectors(50, kDim, 200, 6);
  std::vector<std::int64_t> thirds, few;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); i += 3) thirds.push_back(i);
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); i += 50) few.push_back(i);
  const IdFilter pred = IdFilter::from_predicate([](std::int64_t id) { return id % 3 == 0; });
  for (const IdFilter& filter : {IdFilter::allow_only(thirds), IdFilter::allow_only(few), pred}) {
    for (const auto& result : approx.search_batch(queries, 10, {.metric = {}, .filter = &filter})) {
      EXPECT_EQ(result.size(), 10u);
      for (const auto& nb : result) EXPECT_TRUE(filter.allows(nb.id)) << nb.id;
    }
    EXPECT_GE(recall_at(approx, exact, queries, 10, {.metric = {}, .filter = &filter}), 0.97);
  }
  const IdFilter one = IdFilter::allow_only({123});
  const auto r = approx.search(std::span(v).subspan(0, kDim), 10, {.metric = {}, .filter = &one});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 123);
}

// Removal is a tombstone: removed ids never come back, and results agree with a fresh index.
TEST(FaissIndex, AddRemoveAgreesWithFreshIndex) {
  const std::size_t n = 10'000;
  const auto v = testing::clustered_vectors(n, kDim, 100, 9);
  FaissIndex index(kDim, Metric::kCosine);
  index.add(testing::sequential_ids(n / 2), std::span(v).first(n / 2 * kDim));
  index.add(testing::sequential_ids(n / 2, n / 2), std::span(v).subspan(n / 2 * kDim));
  std::vector<std::int64_t> removed;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); i += 2) removed.push_back(i);
  EXPECT_EQ(index.remove(removed), n / 2);
  EXPECT_EQ(index.size(), n / 2);
  EXPECT_EQ(index.tombstones(), n / 2);

  ExactIndex fresh(kDim);
  for (std::int64_t i = 1; i < static_cast<std::int64_t>(n); i += 2) {
    fresh.add(std::vector<std::int64_t>{i}, std::span(v).subspan(i * kDim, kDim));
  }
  const auto queries = testing::clustered_vectors(100, kDim, 100, 10);
  for (const auto& result : index.search_batch(queries, 10)) {
    EXPECT_EQ(result.size(), 10u);
    for (const auto& nb : result) EXPECT_EQ(nb.id % 2, 1) << "removed id returned";
  }
  EXPECT_GE(recall_at(index, fresh, queries, 10), 0.99);
  index.rebuild();
  EXPECT_EQ(index.tombstones(), 0u);
  EXPECT_GE(recall_at(index, fresh, queries, 10), 0.99);
  // A removed id can be added again.
  index.add(std::vector<std::int64_t>{0}, std::span(v).first(kDim));
  EXPECT_EQ(index.search(std::span(v).first(kDim), 1)[0].id, 0);
}

}  // namespace
}  // namespace mystyle::index
