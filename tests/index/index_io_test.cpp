#include "mystyle/index/index_io.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "index/test_vectors.h"
#include "mystyle/core/error.h"
#include "mystyle/index/exact_index.h"
#include "mystyle/index/faiss_index.h"
#include "support/test_support.h"

namespace mystyle::index {
namespace {

constexpr std::size_t kDim = 64;

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

template <typename Index>
void expect_round_trip(Index& index) {
  const auto v = testing::clustered_vectors(3000, kDim, 30, 1);
  index.add(testing::sequential_ids(3000, 500), v);
  index.remove(std::vector<std::int64_t>{500, 777, 3000});
  mystyle::testing::TempDir dir;
  save_index(index, dir / "a.idx");
  const auto loaded = load_index(dir / "a.idx");
  ASSERT_NE(dynamic_cast<const Index*>(loaded.get()), nullptr);
  EXPECT_EQ(loaded->size(), index.size());
  EXPECT_EQ(loaded->dim(), index.dim());
  EXPECT_EQ(loaded->metric(), index.metric());
  const auto queries = testing::clustered_vectors(30, kDim, 30, 2);
  EXPECT_EQ(loaded->search_batch(queries, 10), index.search_batch(queries, 10));
  EXPECT_FALSE(std::filesystem::exists(dir / "a.idx.tmp")) << "temporary file left behind";
  // Saving again replaces the file (atomic rename over it).
  save_index(*loaded, dir / "a.idx");
  EXPECT_EQ(load_index(dir / "a.idx")->size(), index.size());
}

TEST(IndexIo, ExactRoundTripGivesIdenticalResults) {
  ExactIndex index(kDim, Metric::kPearson);
  expect_round_trip(index);
}

TEST(IndexIo, FaissRoundTripGivesIdenticalResults) {
  FaissIndex index(kDim, Metric::kCosine, {.neighbors_per_node = 16, .ef_construction = 64});
  expect_round_trip(index);
}

// Every kind of damage is refused with a kCorrupt error that names the file.
TEST(IndexIo, CorruptFilesAreRefused) {
  for (bool hnsw : {false, true}) {
    std::unique_ptr<VectorIndex> index;
    if (hnsw) {
      index = std::make_unique<FaissIndex>(kDim, Metric::kEuclidean, HnswSettings{.neighbors_per_node = 8});
    } else {
      index = std::make_unique<ExactIndex>(kDim);
    }
    index->add(testing::sequential_ids(200), testing::clustered_vectors(200, kDim, 4, 3));
    mystyle::testing::TempDir dir;
    const auto path = dir / "x.idx";
    save_index(*index, path);
    const std::string good = read_bytes(path);
    auto expect_corrupt = [&](std::string bytes, const std::string& what) {
      write_bytes(path, bytes);
      try {
        load_index(path);
        ADD_FAILURE() << what << " was accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kCorrupt) << what;
        EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
      }
    };
    for (std::size_t pos : {std::size_t{3}, std::size_t{60}, good.size() / 2, good.size() - 1}) {
      std::string flipped = good;
      flipped[pos] = static_cast<char>(flipped[pos] ^ 0x10);
      expect_corrupt(flipped, "flipped byte at " + std::to_string(pos));
    }
    expect_corrupt(good.substr(0, good.size() - 9), "truncated");
    expect_corrupt(good.substr(0, 20), "truncated header");
    expect_corrupt("", "empty");
    std::string version = good;
    version[8] = 2;  // the version field follows the 8-byte magic
    expect_corrupt(version, "wrong version");
    write_bytes(path, good);
    EXPECT_EQ(load_index(path)->size(), 200u);
  }
  try {
    load_index("/nonexistent/dir/none.idx");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

}  // namespace
}  // namespace mystyle::index
