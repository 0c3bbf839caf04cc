// engine::sync_index keeps a saved index equal to the embeddings it serves: ids added or gone, and
// rows whose vector changed under the same id (an item's new photo) through the edit log or a file
// rewritten, for both index kinds. The reference is the embeddings file itself: after every sync each
// of its rows must be what the index holds (VectorIndex::changed finds none), and the nearest
// neighbour of a changed item's new vector must be that item.
#include "mystyle/engine/item_index.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "support/embedding_rows.h"
#include "support/test_support.h"

namespace mystyle::engine {
namespace {

constexpr int kDim = 16;
constexpr std::uint64_t kModelHash = 0xabcdef;

std::vector<float> unit_vector(std::mt19937_64& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kDim);
  float sq = 0;
  for (float& x : v) {
    x = normal(rng);
    sq += x * x;
  }
  for (float& x : v) x /= std::sqrt(sq);
  return v;
}

Embeddings rows_of(const std::map<std::int64_t, std::vector<float>>& rows) {
  return testing::embeddings_of(rows, kDim, kModelHash);
}

class IndexSyncTest : public ::testing::TestWithParam<IndexKind> {
 protected:
  IndexSync sync() {
    const MappedEmbeddings mapped = MappedEmbeddings::open(path_);
    IndexSync s =
        sync_index(Workspace(ws_.path()), "style", mapped.view(), GetParam(), index::Metric::kCosine);
    // The reference: every row of the file, as load_embeddings reads it, is what the index holds.
    const Embeddings truth = load_embeddings(path_);
    EXPECT_EQ(s.index->size(), truth.size());
    EXPECT_TRUE(s.index->changed(truth.ids, truth.vectors).empty());
    for (const std::int64_t id : truth.ids) EXPECT_TRUE(s.index->contains(id)) << id;
    return s;
  }
  void expect_nearest(const index::VectorIndex& index, std::int64_t id) {
    const auto best = index.search(rows_.at(id), 1);
    ASSERT_EQ(best.size(), 1u);
    EXPECT_EQ(best[0].id, id);
    EXPECT_NEAR(best[0].score, 1.0, 1e-5);
  }
  void SetUp() override {
    std::filesystem::create_directories(ws_ / "embeddings");
    std::filesystem::create_directories(ws_ / "index");
    path_ = ws_ / "embeddings" / "style-flat.bin";
    for (std::int64_t id = 1; id <= 300; ++id) rows_[id] = unit_vector(rng_);
    save_embeddings(path_, rows_of(rows_));
  }
  testing::TempDir ws_;
  std::filesystem::path path_;
  std::mt19937_64 rng_{7};
  std::map<std::int64_t, std::vector<float>> rows_;
};

TEST_P(IndexSyncTest, RowsChangedUnderTheSameIdAreReindexed) {
  IndexSync first = sync();
  EXPECT_TRUE(first.rebuilt);
  EXPECT_EQ(first.added, 300u);
  first.index.reset();

  IndexSync again = sync();
  EXPECT_FALSE(again.rebuilt);
  EXPECT_EQ(again.added + again.removed + again.changed, 0u) << "the saved index is current";
  again.index.reset();

  // The edit log: item 5 gets a new photo (same id, new vector), item 1000 is new, item 9 goes.
  EmbeddingEdits edits;
  rows_[5] = unit_vector(rng_);
  rows_[1000] = unit_vector(rng_);
  rows_.erase(9);
  edits.removed = {9};
  edits.put_ids = {5, 1000};
  edits.put_vectors = rows_[5];
  edits.put_vectors.insert(edits.put_vectors.end(), rows_[1000].begin(), rows_[1000].end());
  ASSERT_FALSE(append_embedding_edits(path_, edits));
  IndexSync logged = sync();
  EXPECT_FALSE(logged.rebuilt);
  EXPECT_EQ(logged.changed, 1u);
  EXPECT_EQ(logged.added, 2u);    // 1000, and 5 again
  EXPECT_EQ(logged.removed, 2u);  // 9, and 5's old vector
  expect_nearest(*logged.index, 5);
  expect_nearest(*logged.index, 1000);
  logged.index.reset();

  // The file rewritten (as a fold or `mystyle embed` does) with item 7 changed: every row is compared.
  rows_[7] = unit_vector(rng_);
  save_embeddings(path_, rows_of(rows_));
  IndexSync rewritten = sync();
  EXPECT_FALSE(rewritten.rebuilt);
  EXPECT_EQ(rewritten.changed, 1u);
  expect_nearest(*rewritten.index, 7);
  rewritten.index.reset();

  IndexSync last = sync();
  EXPECT_EQ(last.added + last.removed + last.changed, 0u);
}

TEST_P(IndexSyncTest, AnOldMetaWithoutDigestsIsCheckedOnce) {
  sync().index.reset();
  // An index saved before the digests were recorded, beside a file whose row 3 changed since.
  const std::string name = GetParam() == IndexKind::kExact ? "style-flat-exact" : "style-flat-hnsw-cosine";
  write_file_atomic(ws_ / "index" / (name + ".json"),
                    fmt::format(R"({{"dim":{},"model":"style","model_hash":"{:016x}"}})", kDim, kModelHash));
  rows_[3] = unit_vector(rng_);
  save_embeddings(path_, rows_of(rows_));
  IndexSync checked = sync();
  EXPECT_EQ(checked.changed, 1u);
  expect_nearest(*checked.index, 3);
}

// A large index is not written again for a change of 1% or less (at a million items the file is
// 795 MB): the next sync makes the same change from the embeddings, and serves exactly them.
TEST(IndexSyncLarge, ASmallChangeIsMadeAgainNotSaved) {
  testing::TempDir ws;
  std::filesystem::create_directories(ws / "embeddings");
  std::filesystem::create_directories(ws / "index");
  const auto path = ws / "embeddings" / "style-flat.bin";
  std::mt19937_64 rng(3);
  Embeddings e;
  e.dim = kDim;
  e.model_hash = kModelHash;
  for (std::int64_t id = 1; id <= 100'000; ++id) {
    e.ids.push_back(id);
    const auto v = unit_vector(rng);
    e.vectors.insert(e.vectors.end(), v.begin(), v.end());
  }
  save_embeddings(path, e);
  auto sync = [&] {
    return sync_index(Workspace(ws.path()), "style", MappedEmbeddings::open(path).view(), IndexKind::kExact,
                      index::Metric::kCosine);
  };
  IndexSync first = sync();
  EXPECT_TRUE(first.saved);
  first.index.reset();
  const auto index_file = ws / "index" / "style-flat-exact.idx";
  const std::string saved_bytes = read_file_bytes(index_file);

  EmbeddingEdits edits;  // 10 new items and one gone: far below 1%
  edits.removed = {77};
  for (std::int64_t id = 200'001; id <= 200'010; ++id) {
    edits.put_ids.push_back(id);
    const auto v = unit_vector(rng);
    edits.put_vectors.insert(edits.put_vectors.end(), v.begin(), v.end());
  }
  ASSERT_FALSE(append_embedding_edits(path, edits));
  for (int pass = 0; pass < 2; ++pass) {
    IndexSync s = sync();
    EXPECT_FALSE(s.saved);
    EXPECT_EQ(s.added, 10u);
    EXPECT_EQ(s.removed, 1u);
    EXPECT_EQ(read_file_bytes(index_file), saved_bytes) << "the file is as first saved";
    const Embeddings truth = load_embeddings(path);
    EXPECT_EQ(s.index->size(), truth.size());
    EXPECT_TRUE(s.index->changed(truth.ids, truth.vectors).empty());
    EXPECT_FALSE(s.index->contains(77));
    EXPECT_TRUE(s.index->contains(200'010));
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, IndexSyncTest, ::testing::Values(IndexKind::kExact, IndexKind::kHnsw),
                         [](const auto& param) { return index_kind_name(param.param); });

}  // namespace
}  // namespace mystyle::engine
