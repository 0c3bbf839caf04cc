// LayeredIndex: a base index shared and never changed, edits in a small exact layer and a hidden-id
// list. The reference is an ExactIndex built from scratch over the live vectors.
#include "mystyle/index/layered_index.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "mystyle/core/error.h"
#include "mystyle/index/faiss_index.h"
#include "test_vectors.h"

namespace mystyle::index {
namespace {

constexpr std::size_t kDim = 24;

/// The live vectors by id, kept beside the layered index as the reference.
struct Live {
  std::map<std::int64_t, std::vector<float>> rows;
  void put(std::int64_t id, std::span<const float> v) { rows[id] = {v.begin(), v.end()}; }
  ExactIndex exact() const {
    ExactIndex e(kDim);
    for (const auto& [id, v] : rows) e.add(std::span(&id, 1), v);
    return e;
  }
};

void expect_same(const std::vector<Neighbor>& got, const std::vector<Neighbor>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id) << what << " rank " << i;
    EXPECT_DOUBLE_EQ(got[i].score, want[i].score) << what << " rank " << i;
  }
}

TEST(LayeredIndex, EditsAgreeWithAFreshExactIndexForEveryMetricAndFilter) {
  const std::size_t n = 600;
  const auto base_rows = testing::clustered_vectors(n, kDim, 12, 1);
  const auto ids = testing::sequential_ids(n, 10);
  auto base = std::make_shared<ExactIndex>(kDim);
  base->add(ids, base_rows);
  Live live;
  for (std::size_t i = 0; i < n; ++i) live.put(ids[i], std::span(base_rows).subspan(i * kDim, kDim));

  auto layered = std::make_shared<LayeredIndex>(std::shared_ptr<const VectorIndex>(base));
  const auto more = testing::clustered_vectors(200, kDim, 12, 2);
  // Five edits: removals from the base, adds, an added id removed again, a base id added again (a new
  // vector for an id once removed), an unknown id removed.
  std::vector<std::vector<std::int64_t>> removals = {{10, 11, 12, 400}, {}, {700, 13}, {14}, {99999}};
  std::vector<std::vector<std::int64_t>> additions = {{700, 701, 702}, {703, 704}, {}, {12, 705}, {}};
  std::size_t next_row = 0;
  for (std::size_t e = 0; e < removals.size(); ++e) {
    std::vector<float> rows;
    for (std::size_t a = 0; a < additions[e].size(); ++a) {
      const auto row = std::span(more).subspan((next_row++) * kDim, kDim);
      rows.insert(rows.end(), row.begin(), row.end());
    }
    const auto before = layered;
    layered = layered->with_edits(removals[e], additions[e], rows);
    for (const std::int64_t id : removals[e]) live.rows.erase(id);
    for (std::size_t i = 0; i < additions[e].size(); ++i)
      live.put(additions[e][i], std::span(rows).subspan(i * kDim, kDim));
    // The version before the edit is unchanged.
    EXPECT_EQ(before->size() + additions[e].size() - (e == 0 ? 4 : e == 2 ? 2 : e == 3 ? 1 : 0), layered->size());
  }
  ASSERT_EQ(layered->size(), live.rows.size());
  const ExactIndex reference = live.exact();
  for (const auto& [id, v] : live.rows) EXPECT_TRUE(layered->contains(id)) << id;
  EXPECT_FALSE(layered->contains(10));
  EXPECT_FALSE(layered->contains(700));
  EXPECT_TRUE(layered->contains(12));  // added again

  const auto queries = testing::clustered_vectors(25, kDim, 12, 3);
  std::vector<std::int64_t> allowed;
  for (std::int64_t id = 0; id < 800; id += 3) allowed.push_back(id);
  const IdFilter list = IdFilter::allow_only(allowed);
  const IdFilter predicate = IdFilter::from_predicate([](std::int64_t id) { return id % 2 == 0; });
  for (const Metric metric : {Metric::kCosine, Metric::kEuclidean, Metric::kPearson}) {
    for (const IdFilter* filter : {static_cast<const IdFilter*>(nullptr), &list, &predicate}) {
      SearchParams p;
      p.metric = metric;
      p.filter = filter;
      for (std::size_t q = 0; q < 25; ++q) {
        const auto query = std::span(queries).subspan(q * kDim, kDim);
        expect_same(layered->search(query, 10, p), reference.search(query, 10, p), std::string(metric_name(metric)).c_str());
      }
    }
  }
  // The re-added id has its new vector: it is its own best match.
  const auto twelve = live.rows.at(12);
  EXPECT_EQ(layered->search(twelve, 1).at(0).id, 12);
}

TEST(LayeredIndex, IsImmutableAndRefusesBadVectorsWithoutChange) {
  auto base = std::make_shared<ExactIndex>(4);
  const std::vector<float> rows = {1, 0, 0, 0, 0, 1, 0, 0};
  const std::vector<std::int64_t> ids = {1, 2};
  base->add(ids, rows);
  LayeredIndex layered(base);
  EXPECT_THROW(layered.add(ids, rows), Error);
  EXPECT_THROW((void)layered.remove(ids), Error);
  const std::vector<std::int64_t> three = {3};
  const std::vector<float> short_row = {1, 2, 3};
  EXPECT_THROW((void)layered.with_edits({}, three, short_row), Error);
  const std::vector<float> nan_row = {1, 2, std::numeric_limits<float>::quiet_NaN(), 0};
  EXPECT_THROW((void)layered.with_edits({}, three, nan_row), Error);
  EXPECT_EQ(layered.size(), 2u);
  EXPECT_EQ(base->size(), 2u);
}

// An HNSW base: the base's answers with hidden ids taken out, the added vectors found exactly.
TEST(LayeredIndex, OverAnHnswBaseHidesRemovedAndFindsAdded) {
  const std::size_t n = 2000;
  const auto rows = testing::clustered_vectors(n, kDim, 20, 5);
  const auto ids = testing::sequential_ids(n);
  auto base = std::make_shared<FaissIndex>(kDim, Metric::kCosine);
  base->add(ids, rows);
  // Hide the 50 best matches of a query: none comes back, and 10 answers still do.
  const auto query = std::span(rows).subspan(0, kDim);
  std::vector<std::int64_t> hidden;
  for (const auto& nb : base->search(query, 50)) hidden.push_back(nb.id);
  const auto extra = testing::clustered_vectors(3, kDim, 20, 6);
  const std::vector<std::int64_t> added = {5000, 5001, 5002};
  const auto layered = LayeredIndex(base).with_edits(hidden, added, extra);
  EXPECT_EQ(layered->size(), n - 50 + 3);
  const auto got = layered->search(query, 10);
  ASSERT_EQ(got.size(), 10u);
  for (const auto& nb : got) EXPECT_EQ(std::ranges::find(hidden, nb.id), hidden.end()) << nb.id;
  for (std::size_t i = 0; i < added.size(); ++i)
    EXPECT_EQ(layered->search(std::span(extra).subspan(i * kDim, kDim), 1).at(0).id, added[i]);
  // A short allow-list of hidden and live ids: only the live ones.
  const IdFilter list = IdFilter::allow_only({hidden[0], hidden[1], 1999, 5001});
  SearchParams p;
  p.filter = &list;
  const auto filtered = layered->search(query, 10, p);
  ASSERT_EQ(filtered.size(), 2u);
  for (const auto& nb : filtered) EXPECT_TRUE(nb.id == 1999 || nb.id == 5001) << nb.id;
}

// Searches on one version while new versions are made from it: each search sees one version.
TEST(LayeredIndex, SearchesRunWhileEditsMakeNewVersions) {
  const std::size_t n = 3000;
  const auto rows = testing::clustered_vectors(n, kDim, 12, 7);
  auto base = std::make_shared<ExactIndex>(kDim);
  base->add(testing::sequential_ids(n), rows);
  auto current = std::make_shared<LayeredIndex>(base);
  std::mutex m;
  std::atomic<bool> done{false};
  std::atomic<int> searches{0}, wrong{0};
  std::thread reader([&] {
    while (!done) {
      std::shared_ptr<LayeredIndex> snap;
      {
        std::lock_guard lock(m);
        snap = current;
      }
      const auto got = snap->search(std::span(rows).subspan(0, kDim), 5);
      // Row 0's vector is its own best match until it is hidden; then it is never found.
      const bool hidden = std::ranges::binary_search(snap->hidden(), 0);
      if (got.empty() || (got[0].id == 0) == hidden) ++wrong;
      ++searches;
    }
  });
  const auto extra = testing::clustered_vectors(100, kDim, 12, 8);
  for (std::int64_t i = 0; i < 100; ++i) {
    std::vector<std::int64_t> removed;
    if (i == 50) removed.push_back(0);
    const std::vector<std::int64_t> id = {10000 + i};
    auto next = current->with_edits(removed, id, std::span(extra).subspan(static_cast<std::size_t>(i) * kDim, kDim));
    std::lock_guard lock(m);
    current = std::move(next);
  }
  while (searches < 200) std::this_thread::yield();
  done = true;
  reader.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(current->size(), n - 1 + 100);
}

}  // namespace
}  // namespace mystyle::index
