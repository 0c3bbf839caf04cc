// The embeddings file's edit log (append_embedding_edits): every reader sees the file with its edits,
// a torn record is dropped, a fold (or any save) leaves the same content and no log, and a fold
// killed before the log went leaves the same content too.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "support/embedding_rows.h"
#include "support/test_support.h"

namespace mystyle::engine {
namespace {

constexpr int kDim = 3;

Embeddings rows_of(const std::map<std::int64_t, std::vector<float>>& rows, std::uint64_t model_hash = 7) {
  return testing::embeddings_of(rows, kDim, model_hash);
}

void expect_rows(const Embeddings& got, const std::map<std::int64_t, std::vector<float>>& want) {
  const Embeddings w = rows_of(want);
  EXPECT_EQ(got.ids, w.ids);
  EXPECT_EQ(got.vectors, w.vectors);
  EXPECT_EQ(got.dim, kDim);
}

TEST(EmbeddingLog, EditsAreAppendedAndEveryReaderSeesThem) {
  testing::TempDir ws;
  const auto path = ws / "e.bin";
  std::map<std::int64_t, std::vector<float>> rows = {{1, {1, 0, 0}}, {2, {0, 1, 0}}, {5, {0, 0, 1}}};
  save_embeddings(path, rows_of(rows));
  const std::string file_before = read_file_bytes(path);

  EmbeddingEdits edits;
  edits.removed = {2, 99};                            // a row, and an id the file does not have
  edits.put_ids = {5, 3, 8};                          // a row replaced, two added
  edits.put_vectors = {5, 5, 5, 3, 3, 3, 8, 8, 8};
  EXPECT_FALSE(append_embedding_edits(path, edits));
  EXPECT_EQ(read_file_bytes(path), file_before) << "the file itself is not rewritten";
  rows.erase(2);
  rows[5] = {5, 5, 5};
  rows[3] = {3, 3, 3};
  rows[8] = {8, 8, 8};
  expect_rows(load_embeddings(path), rows);
  const MappedEmbeddings mapped = MappedEmbeddings::open(path);
  EXPECT_EQ(mapped.log_records(), 5u);
  EXPECT_EQ(mapped.size(), 4u);
  EXPECT_TRUE(mapped.copied());
  EXPECT_EQ(read_embeddings_header(path).count, 3u);  // the file's rows, the log aside

  // Removed and put again in one later edit: the last record decides.
  EmbeddingEdits again;
  again.removed = {3};
  again.put_ids = {3};
  again.put_vectors = {4, 4, 4};
  append_embedding_edits(path, again);
  rows[3] = {4, 4, 4};
  expect_rows(load_embeddings(path), rows);

  // Wrong sizes are refused and append nothing.
  EmbeddingEdits bad;
  bad.put_ids = {10};
  bad.put_vectors = {1, 2};
  EXPECT_THROW(append_embedding_edits(path, bad), Error);
  expect_rows(load_embeddings(path), rows);

  // A save folds: the same content, no log.
  save_embeddings(path, load_embeddings(path));
  EXPECT_FALSE(std::filesystem::exists(edit_log_file(path)));
  expect_rows(load_embeddings(path), rows);
}

// Items added and deleted again change nothing: the file is served from its mapping, not copied.
TEST(EmbeddingLog, ALogOfItemsAddedAndDeletedAgainLeavesTheMappingAsItIs) {
  testing::TempDir ws;
  const auto path = ws / "e.bin";
  const std::map<std::int64_t, std::vector<float>> rows = {{1, {1, 0, 0}}, {2, {0, 1, 0}}};
  save_embeddings(path, rows_of(rows));
  EmbeddingEdits add;
  add.put_ids = {7, 8};
  add.put_vectors = {7, 7, 7, 8, 8, 8};
  append_embedding_edits(path, add);
  EmbeddingEdits remove;
  remove.removed = {7, 8, 9};
  append_embedding_edits(path, remove);
  const MappedEmbeddings mapped = MappedEmbeddings::open(path);
  EXPECT_EQ(mapped.log_records(), 5u);
  EXPECT_FALSE(mapped.copied());
  expect_rows(load_embeddings(path), rows);
  // One real change among them: copied, with it.
  EmbeddingEdits change;
  change.removed = {2};
  append_embedding_edits(path, change);
  EXPECT_TRUE(MappedEmbeddings::open(path).copied());
  expect_rows(load_embeddings(path), {{1, {1, 0, 0}}});
}

TEST(EmbeddingLog, ATornRecordIsDroppedAndCutOffByTheNextAppend) {
  testing::TempDir ws;
  const auto path = ws / "e.bin";
  std::map<std::int64_t, std::vector<float>> rows = {{1, {1, 0, 0}}};
  save_embeddings(path, rows_of(rows));
  EmbeddingEdits add;
  add.put_ids = {2};
  add.put_vectors = {2, 2, 2};
  append_embedding_edits(path, add);
  // A crash half-way through the next record: its first 10 bytes reached the disk.
  const auto log = edit_log_file(path);
  std::string bytes = read_file_bytes(log);
  const std::string whole = bytes;
  bytes += bytes.substr(20, 10);
  write_file_atomic(log, bytes);
  rows[2] = {2, 2, 2};
  expect_rows(load_embeddings(path), rows);
  // A damaged record (a flipped bit in its row) ends the log there too.
  std::string damaged = whole;
  damaged[damaged.size() - 12] ^= 1;
  write_file_atomic(log, damaged + whole.substr(20));
  expect_rows(load_embeddings(path), {{1, {1, 0, 0}}});
  // The next append cuts the damage off; its own record is read.
  write_file_atomic(log, bytes);
  add.put_ids = {4};
  add.put_vectors = {4, 4, 4};
  append_embedding_edits(path, add);
  rows[4] = {4, 4, 4};
  expect_rows(load_embeddings(path), rows);
}

TEST(EmbeddingLog, ALogOfAnotherModelIsIgnored) {
  testing::TempDir ws;
  const auto path = ws / "e.bin";
  save_embeddings(path, rows_of({{1, {1, 0, 0}}}, /*model_hash=*/7));
  EmbeddingEdits add;
  add.put_ids = {2};
  add.put_vectors = {2, 2, 2};
  append_embedding_edits(path, add);
  const std::string log = read_file_bytes(edit_log_file(path));
  // `mystyle embed` with a new model rewrites the file; were its log left behind, it is not applied.
  save_embeddings(path, rows_of({{1, {9, 9, 9}}}, /*model_hash=*/8));
  write_file_atomic(edit_log_file(path), log);
  const Embeddings e = load_embeddings(path);
  EXPECT_EQ(e.ids, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(e.model_hash, 8u);
}

TEST(EmbeddingLog, FoldsPastItsLimitAndAFoldKilledBeforeTheLogWentLosesNothing) {
  testing::TempDir ws;
  const auto path = ws / "e.bin";
  std::map<std::int64_t, std::vector<float>> rows = {{1, {1, 0, 0}}};
  save_embeddings(path, rows_of(rows));
  const std::size_t limit = edit_log_fold_rows(1);
  EXPECT_EQ(limit, 4096u);
  EmbeddingEdits many;
  for (std::size_t i = 0; i < limit; ++i) {
    const auto id = static_cast<std::int64_t>(100 + i);
    many.put_ids.push_back(id);
    const float v = static_cast<float>(i);
    many.put_vectors.insert(many.put_vectors.end(), {v, v, v});
    rows[id] = {v, v, v};
  }
  EXPECT_FALSE(append_embedding_edits(path, many));  // exactly at the limit: kept as a log
  const std::string log = read_file_bytes(edit_log_file(path));
  EmbeddingEdits one;
  one.removed = {1};
  rows.erase(1);
  EXPECT_TRUE(append_embedding_edits(path, one));  // past it: folded
  EXPECT_FALSE(std::filesystem::exists(edit_log_file(path)));
  EXPECT_EQ(read_embeddings_header(path).count, rows.size());
  expect_rows(load_embeddings(path), rows);
  // A fold killed after writing the file, before deleting the log: the log applies to the folded
  // rows again and gives the same content (its records are idempotent).
  write_file_atomic(edit_log_file(path), log);
  expect_rows(load_embeddings(path), rows);
}

// What a server's start asks for (RecommenderConfig::fold_edit_log): a log that changes the file's own
// rows is folded into it, so the rows are mapped rather than copied; one that only adds and deletes
// new ids again is left as it is.
TEST(EmbeddingLog, AServerStartFoldsALogThatChangesTheFilesRows) {
  testing::TempDir ws;
  const auto path = ws / "e.bin";
  const auto lock = ws / ".lock";
  std::map<std::int64_t, std::vector<float>> rows = {{1, {1, 0, 0}}, {2, {0, 1, 0}}, {5, {0, 0, 1}}};
  save_embeddings(path, rows_of(rows));

  EmbeddingEdits passing;  // item 9 added and deleted again: the mapping serves as it is
  passing.put_ids = {9};
  passing.put_vectors = {9, 9, 9};
  append_embedding_edits(path, passing);
  EmbeddingEdits gone;
  gone.removed = {9};
  append_embedding_edits(path, gone);
  EXPECT_FALSE(fold_embedding_log(path, lock));
  EXPECT_TRUE(std::filesystem::exists(edit_log_file(path)));

  EmbeddingEdits real;  // a row of the file deleted, another replaced
  real.removed = {2};
  real.put_ids = {5};
  real.put_vectors = {5, 5, 5};
  append_embedding_edits(path, real);
  rows.erase(2);
  rows[5] = {5, 5, 5};
  EXPECT_TRUE(MappedEmbeddings::open(path).copied());
  EXPECT_TRUE(fold_embedding_log(path, lock));
  EXPECT_FALSE(std::filesystem::exists(edit_log_file(path)));
  const MappedEmbeddings after = MappedEmbeddings::open(path);
  EXPECT_FALSE(after.copied());
  expect_rows(load_embeddings(path), rows);
  EXPECT_FALSE(fold_embedding_log(path, lock)) << "nothing left to fold";
}

}  // namespace
}  // namespace mystyle::engine
