#include "mystyle/index/exact_index.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "index/test_vectors.h"
#include "mystyle/core/error.h"

namespace mystyle::index {
namespace {

std::vector<std::int64_t> ids_of(const std::vector<Neighbor>& result) {
  std::vector<std::int64_t> ids;
  for (const auto& n : result) ids.push_back(n.id);
  return ids;
}

ExactIndex make_index(std::size_t dim, const std::vector<float>& v, std::int64_t first_id = 0) {
  ExactIndex index(dim);
  index.add(testing::sequential_ids(v.size() / dim, first_id), v);
  return index;
}

TEST(ExactIndex, CosineOnHandMadeVectors) {
  const ExactIndex index = make_index(2, {1, 0, 0, 1, 1, 1, -1, 0, 0, 0}, 10);
  const float q[] = {2, 0};
  const auto r = index.search(q, 5);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(ids_of(r),
            (std::vector<std::int64_t>{10, 12, 11, 14, 13}));  // zero vector scores 0, row 11 first
  EXPECT_DOUBLE_EQ(r[0].score, 1.0);
  EXPECT_NEAR(r[1].score, std::sqrt(0.5), 1e-12);
  EXPECT_DOUBLE_EQ(r[2].score, 0.0);
  EXPECT_DOUBLE_EQ(r[4].score, -1.0);
}

TEST(ExactIndex, EuclideanRanksByDistanceAndReportsInverse) {
  ExactIndex index(2, Metric::kEuclidean);
  index.add(std::vector<std::int64_t>{1, 2, 3}, std::vector<float>{3, 4, 0, 0, 1, 0});
  const float q[] = {0, 0};
  const auto r = index.search(q, 3);
  EXPECT_EQ(ids_of(r), (std::vector<std::int64_t>{2, 3, 1}));
  EXPECT_EQ(r[0].score, std::numeric_limits<double>::infinity());  // the query itself, d = 0
  EXPECT_DOUBLE_EQ(r[1].score, 1.0);
  EXPECT_DOUBLE_EQ(r[2].score, 0.2);
}

TEST(ExactIndex, PearsonCorrelatesComponents) {
  ExactIndex index(3, Metric::kPearson);
  index.add(std::vector<std::int64_t>{1, 2, 3, 4}, std::vector<float>{3, 2, 1, 1, 3, 2, 2, 4, 6, 5, 5, 5});
  const float q[] = {1, 2, 3};
  const auto r = index.search(q, 4);
  EXPECT_EQ(ids_of(r), (std::vector<std::int64_t>{3, 2, 4, 1}));
  EXPECT_NEAR(r[0].score, 1.0, 1e-12);
  EXPECT_NEAR(r[1].score, 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(r[2].score, 0.0);  // constant vector: undefined correlation counts as 0
  EXPECT_NEAR(r[3].score, -1.0, 1e-12);
}

TEST(ExactIndex, MetricCanBeChosenPerQuery) {
  const ExactIndex index = make_index(3, {1, 2, 3, 10, 20, 30, 1, 2, 4});
  const float q[] = {1, 2, 3};
  EXPECT_EQ(index.search(q, 1, {.metric = Metric::kEuclidean})[0].id, 0);
  EXPECT_EQ(index.search(q, 3, {.metric = Metric::kCosine})[1].id, 1);  // same direction, ties by row
  EXPECT_EQ(ids_of(index.search(q, 2, {.metric = Metric::kPearson})), (std::vector<std::int64_t>{0, 1}));
}

TEST(ExactIndex, KLargerThanSizeAndEmptyIndex) {
  ExactIndex empty(4);
  const float q[] = {1, 2, 3, 4};
  EXPECT_TRUE(empty.search(q, 10).empty());
  const ExactIndex index = make_index(4, {1, 2, 3, 4, 4, 3, 2, 1});
  EXPECT_EQ(index.search(q, 10).size(), 2u);
  EXPECT_TRUE(index.search(q, 0).empty());
}

TEST(ExactIndex, BadInputIsAnErrorNotACrash) {
  ExactIndex index(4);
  const float wrong_dim[] = {1, 2, 3};
  EXPECT_THROW(index.search(wrong_dim, 3), Error);
  EXPECT_THROW(index.add(std::vector<std::int64_t>{1}, std::vector<float>{1, 2, 3}), Error);
  index.add(std::vector<std::int64_t>{1}, std::vector<float>{1, 2, 3, 4});
  EXPECT_THROW(index.add(std::vector<std::int64_t>{1}, std::vector<float>{1, 2, 3, 4}), Error);  // duplicate
  const float nan_query[] = {1, std::numeric_limits<float>::quiet_NaN(), 3, 4};
  EXPECT_THROW(index.search(nan_query, 3), Error);
  EXPECT_THROW(ExactIndex(0), Error);
  EXPECT_EQ(index.size(), 1u);
}

// A filter must return only allowed items and exactly the best of them, for both filter kinds.
TEST(ExactIndex, FiltersReturnOnlyMatchingItems) {
  const std::size_t dim = 16, n = 2000;
  const auto v = testing::clustered_vectors(n, dim, 20, 7);
  const ExactIndex index = make_index(dim, v);
  const auto q = testing::clustered_vectors(1, dim, 20, 8);
  std::vector<std::int64_t> evens, few;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); i += 2) evens.push_back(i);
  for (std::int64_t i = 0; i < 60; i += 3) few.push_back(i * 7);
  for (const auto& allowed : {evens, few}) {
    const IdFilter list = IdFilter::allow_only(allowed);
    const IdFilter pred = IdFilter::from_predicate([&](std::int64_t id) { return list.allows(id); });
    ExactIndex subset(dim);
    for (std::int64_t id : allowed)
      subset.add(std::vector<std::int64_t>{id}, std::span(v).subspan(id * dim, dim));
    for (Metric m : {Metric::kCosine, Metric::kEuclidean, Metric::kPearson}) {
      const auto expected = subset.search(q, 10, {.metric = m});
      EXPECT_EQ(index.search(q, 10, {.metric = m, .filter = &list}), expected);
      EXPECT_EQ(index.search(q, 10, {.metric = m, .filter = &pred}), expected);
    }
  }
}

// Incremental add/remove must agree with an index built from scratch on the surviving items.
TEST(ExactIndex, AddRemoveAgreesWithFreshIndex) {
  const std::size_t dim = 32, n = 3000;
  const auto v = testing::clustered_vectors(n, dim, 30, 11);
  ExactIndex index(dim);
  index.add(testing::sequential_ids(n / 2), std::span(v).first(n / 2 * dim));
  std::vector<std::int64_t> removed;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); i += 3) removed.push_back(i);
  EXPECT_EQ(index.remove(removed), n / 2 / 3);
  index.add(testing::sequential_ids(n / 2, n / 2), std::span(v).subspan(n / 2 * dim));
  EXPECT_EQ(index.remove(removed), (n - n / 2) / 3);
  EXPECT_EQ(index.remove(std::vector<std::int64_t>{-5}), 0u);

  ExactIndex fresh(dim);
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i) {
    if (i % 3 != 0) fresh.add(std::vector<std::int64_t>{i}, std::span(v).subspan(i * dim, dim));
  }
  ASSERT_EQ(index.size(), fresh.size());
  const auto queries = testing::clustered_vectors(20, dim, 30, 12);
  for (Metric m : {Metric::kCosine, Metric::kEuclidean, Metric::kPearson}) {
    EXPECT_EQ(index.search_batch(queries, 10, {.metric = m}),
              fresh.search_batch(queries, 10, {.metric = m}, 1));
  }
}

// Independent double-precision reference: the metric's key per row, sorted (key desc, row asc).
std::vector<std::int64_t> reference_top(const std::vector<float>& v, std::size_t dim,
                                        const std::vector<float>& q, Metric m, std::size_t k) {
  auto centred = [&](const float* x) {
    std::vector<double> c(x, x + dim);
    double mean = 0;
    for (double e : c) mean += e;
    mean /= static_cast<double>(dim);
    if (m == Metric::kPearson)
      for (double& e : c) e -= mean;
    return c;
  };
  const auto qc = centred(q.data());
  std::vector<std::pair<double, std::int64_t>> keyed;
  for (std::size_t r = 0; r < v.size() / dim; ++r) {
    const auto x = centred(&v[r * dim]);
    double dot = 0, xx = 0, qq = 0, d2 = 0;
    for (std::size_t i = 0; i < dim; ++i) {
      dot += x[i] * qc[i], xx += x[i] * x[i], qq += qc[i] * qc[i];
      d2 += (x[i] - qc[i]) * (x[i] - qc[i]);
    }
    // A zero (Pearson: constant) vector has no direction: its similarity is defined as 0.
    const double den = std::sqrt(xx) * std::sqrt(qq);
    const double key = m == Metric::kEuclidean ? -d2 : (den > 0 ? dot / den : 0.0);
    keyed.emplace_back(-key, static_cast<std::int64_t>(r));
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::int64_t> top;
  for (std::size_t i = 0; i < k; ++i) top.push_back(keyed[i].second);
  return top;
}

// The float scan with double rescoring must equal a plain double computation, ties included.
TEST(ExactIndex, MatchesDoubleReferenceWithTies) {
  const std::size_t dim = 128, n = 5000;
  auto v = testing::clustered_vectors(n, dim, 10, 21);
  for (std::size_t i = 0; i < dim; ++i) v[4000 * dim + i] = v[17 * dim + i];  // exact duplicate: tie
  const ExactIndex index = make_index(dim, v);
  const auto queries = testing::clustered_vectors(5, dim, 10, 22);
  for (Metric m : {Metric::kCosine, Metric::kEuclidean, Metric::kPearson}) {
    const std::vector<float> self(v.begin() + 17 * dim, v.begin() + 18 * dim);
    const auto r = index.search(self, 50, {.metric = m});
    EXPECT_EQ(ids_of(r), reference_top(v, dim, self, m, 50));
    EXPECT_EQ(r[1].id, 4000);
    for (std::size_t i = 0; i < 5; ++i) {
      const std::vector<float> q(queries.begin() + i * dim, queries.begin() + (i + 1) * dim);
      EXPECT_EQ(ids_of(index.search(q, 20, {.metric = m})), reference_top(v, dim, q, m, 20));
    }
  }
}

// The int8 scan's intervals must hold on data built to stress them: a large common offset (all
// rows nearly parallel: cosine keys differ in the 5th decimal, far inside the int8 error), norms
// spread over 12 orders of magnitude, clusters of near-duplicates, constant and zero rows, and
// dimensions with SIMD tails or past the int16 query limit. Any row dropped by a wrong bound
// changes the top k against the independent double reference.
TEST(ExactIndex, ScanBoundsHoldOnAdversarialData) {
  std::mt19937_64 rng(99);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (std::size_t dim : {1u, 7u, 37u, 128u, 130u, 600u}) {
    const std::size_t n = dim >= 600 ? 600 : 1500;
    std::vector<float> base(dim);
    for (float& b : base) b = normal(rng);
    for (int kind = 0; kind < 4; ++kind) {
      std::vector<float> v(n * dim);
      for (std::size_t r = 0; r < n; ++r) {
        float* x = &v[r * dim];
        const float scale = kind == 1 ? std::pow(10.0f, 12.0f * unit(rng) - 6.0f) : 1.0f;
        for (std::size_t i = 0; i < dim; ++i) {
          switch (kind) {
            case 0:
              x[i] = 100.0f + 0.01f * normal(rng);
              break;  // large offset
            case 1:
              x[i] = scale * normal(rng);
              break;  // spread norms
            case 2:
              x[i] = base[i] + 1e-4f * normal(rng) * (r % 7);
              break;  // near-duplicates
            default:
              x[i] = r % 11 == 0 ? 0.0f : (r % 13 == 0 ? 3.0f : std::abs(normal(rng)));
              break;
          }
        }
      }
      const ExactIndex index = make_index(dim, v);
      std::vector<std::vector<float>> queries;
      queries.emplace_back(v.begin() + 5 * dim, v.begin() + 6 * dim);  // a stored row
      queries.emplace_back(dim);
      for (float& e : queries.back()) e = normal(rng);
      queries.emplace_back(base);
      for (const auto& q : queries) {
        for (Metric m : {Metric::kCosine, Metric::kEuclidean, Metric::kPearson}) {
          if (m == Metric::kPearson && dim == 1) continue;  // every correlation is undefined (0)
          SCOPED_TRACE(fmt::format("dim {} kind {} metric {}", dim, kind, static_cast<int>(m)));
          EXPECT_EQ(ids_of(index.search(q, 10, {.metric = m})), reference_top(v, dim, q, m, 10));
        }
      }
    }
  }
}

// A zero query scores every row 0 under cosine: the top k is the first k rows, in order.
TEST(ExactIndex, ZeroQueryRanksByInsertionOrder) {
  const auto v = testing::clustered_vectors(700, 32, 7, 5);
  const ExactIndex index = make_index(32, v, 100);
  const std::vector<float> zero(32, 0.0f);
  const auto r = index.search(zero, 5);
  EXPECT_EQ(ids_of(r), (std::vector<std::int64_t>{100, 101, 102, 103, 104}));
  for (const auto& n : r) EXPECT_EQ(n.score, 0.0);
}

}  // namespace
}  // namespace mystyle::index
