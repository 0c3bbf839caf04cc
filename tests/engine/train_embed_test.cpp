#include <gtest/gtest.h>

#include <algorithm>

#include "engine_fixture.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/train/family.h"

namespace mystyle::engine {
namespace {

using namespace ::mystyle::train;  // the training wing: models trained for these tests

TrainOptions quick(int epochs) {
  TrainOptions o;
  o.model = "seed64";  // the autoencoder's reconstruction report and mean pooling are tested here
  o.epochs = epochs;
  o.batch_size = 16;
  o.threads = 2;
  o.seed = 7;
  o.patience = 100;
  return o;
}

// Training on a few dozen real MANGO photos for a few epochs lowers the loss and writes the report.
TEST(TrainJob, LowersTheLossOnRealPhotosAndWritesTheReport) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 48)) GTEST_SKIP() << "MANGO data set absent";
  const Workspace w(ws.path());
  const TrainReport r = train_on_catalog(w, quick(4));
  EXPECT_EQ(r.epochs_run, 4);
  EXPECT_EQ(r.train_images + r.val_images + r.test_images, 48u);
  const std::string history = read_file_bytes(w.report_dir("seed64") / "history.csv");
  std::vector<double> losses;
  for (std::size_t pos = history.find('\n'); (pos = history.find('\n', pos)) != std::string::npos && pos + 1 < history.size();) {
    const std::size_t comma = history.find(',', pos + 1);
    losses.push_back(std::stod(history.substr(comma + 1)));
    pos = comma;
  }
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_GT(r.test_loss, 0.0);
  for (const char* f : {"loss_curve.png", "reconstructions.png", "train.json", "history.csv"}) {
    EXPECT_TRUE(std::filesystem::exists(w.report_dir("seed64") / f)) << f;
  }
  EXPECT_TRUE(std::filesystem::exists(w.model_file("seed64")));
}

// A run stopped after 2 epochs and resumed gives the same weights as 4 epochs straight.
TEST(TrainJob, ResumeIsBitIdenticalToAnUninterruptedRun) {
  testing::TempDir a, b;
  if (!testing::import_mango_sample(a.path(), 40)) GTEST_SKIP() << "MANGO data set absent";
  testing::import_mango_sample(b.path(), 40);
  train_on_catalog(Workspace(a.path()), quick(4));
  TrainOptions first = quick(4);
  first.stop_after_epochs = 2;
  train_on_catalog(Workspace(b.path()), first);
  TrainOptions rest = quick(4);
  rest.resume = true;
  EXPECT_EQ(train_on_catalog(Workspace(b.path()), rest).epochs_run, 4);
  EXPECT_EQ(read_file_bytes(Workspace(a.path()).checkpoint_file("seed64")),
            read_file_bytes(Workspace(b.path()).checkpoint_file("seed64")));
  EXPECT_EQ(read_file_bytes(Workspace(a.path()).model_file("seed64")),
            read_file_bytes(Workspace(b.path()).model_file("seed64")));
}

TEST(TrainJob, ResumeWithoutCheckpointIsAClearError) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 20)) GTEST_SKIP() << "MANGO data set absent";
  TrainOptions o = quick(2);
  o.resume = true;
  EXPECT_THROW(train_on_catalog(Workspace(ws.path()), o), Error);
}

TEST(Embed, EncodesOnlyNewItemsAndKeepsTheRest) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 30)) GTEST_SKIP() << "MANGO data set absent";
  const Workspace w(ws.path());
  train_on_catalog(w, quick(1));
  const EmbedReport first = embed_catalog(w, "seed64", nn::LatentPooling::kFlat, 2);
  EXPECT_EQ(first.items, 30u);
  EXPECT_EQ(first.dim, 128);
  const Embeddings before = load_embeddings(first.path);

  testing::import_mango_sample(ws.path(), 2, /*skip=*/30);
  const EmbedReport second = embed_catalog(w, "seed64", nn::LatentPooling::kFlat, 2);
  EXPECT_EQ(second.items, 32u);
  EXPECT_EQ(second.newly_encoded, 2u);
  const Embeddings after = load_embeddings(second.path);
  for (std::size_t i = 0; i < before.size(); ++i) {
    ASSERT_EQ(after.ids[i], before.ids[i]);
    for (int d = 0; d < before.dim; ++d) ASSERT_EQ(after.row(i)[d], before.row(i)[d]);
  }

  // The original's 8 channel means are the means of the flat code's 8 planes of 16.
  const Embeddings mean = load_embeddings(embed_catalog(w, "seed64", nn::LatentPooling::kMean, 2).path);
  ASSERT_EQ(mean.dim, 8);
  for (int c = 0; c < 8; ++c) {
    double sum = 0;
    for (int k = 0; k < 16; ++k) sum += after.row(0)[c * 16 + k];
    EXPECT_NEAR(mean.row(0)[c], sum / 16, 1e-5);
  }
}

/// Two items of two dimensions: the smallest embeddings file.
Embeddings two_items() {
  Embeddings e;
  e.dim = 2;
  e.ids = {1, 2};
  e.vectors = {1, 2, 3, 4};
  return e;
}

TEST(Embed, CorruptFileIsRefused) {
  testing::TempDir ws;
  const Embeddings e = two_items();
  const auto path = ws / "e.bin";
  save_embeddings(path, e);
  EXPECT_EQ(load_embeddings(path).vectors, e.vectors);
  std::string bytes = read_file_bytes(path);
  bytes[bytes.size() - 1] ^= 1;
  write_file_atomic(path, bytes);
  try {
    load_embeddings(path);
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::kCorrupt);
    EXPECT_NE(std::string(err.what()).find("checksum"), std::string::npos);
  }
}

// The mapped file a server starts from holds what the copy holds, row for row, and keeps holding it
// after the file is replaced (files are replaced by rename, never rewritten in place).
TEST(Embed, MappedFileMatchesTheCopyAndOutlivesAReplacement) {
  testing::TempDir ws;
  Embeddings e;
  e.dim = 3;
  e.model_hash = 0x1234;
  e.pooling = nn::LatentPooling::kMean;
  e.ids = {2, 5, 9, 40};
  for (int i = 0; i < 12; ++i) e.vectors.push_back(0.25f * static_cast<float>(i) - 1.0f);
  const auto path = ws / "e.bin";
  save_embeddings(path, e);
  const MappedEmbeddings mapped = MappedEmbeddings::open(path);
  auto expect_same = [&](const EmbeddingsView& v) {
    EXPECT_EQ(v.dim, 3);
    EXPECT_EQ(v.model_hash, 0x1234u);
    EXPECT_EQ(v.pooling, nn::LatentPooling::kMean);
    ASSERT_EQ(v.size(), 4u);
    EXPECT_TRUE(std::ranges::equal(v.ids, e.ids));
    EXPECT_TRUE(std::ranges::equal(v.vectors, e.vectors));
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_TRUE(std::ranges::equal(v.row(i), e.row(i)));
  };
  expect_same(mapped.view());
  const Embeddings copy = load_embeddings(path);
  EXPECT_EQ(copy.ids, e.ids);
  EXPECT_EQ(copy.vectors, e.vectors);

  Embeddings other = e;
  other.ids = {1};
  other.vectors = {7, 8, 9};
  save_embeddings(path, other);
  expect_same(mapped.view());
  EXPECT_EQ(MappedEmbeddings::open(path).view().size(), 1u);

  Embeddings empty;
  empty.dim = 3;
  save_embeddings(path, empty);
  const MappedEmbeddings none = MappedEmbeddings::open(path);
  EXPECT_EQ(none.view().size(), 0u);
  EXPECT_TRUE(none.view().vectors.empty());
}

// The mapped file is checked as the copy is: every kind of damage is a kCorrupt error naming the file,
// a missing file kNotFound, never a crash.
TEST(Embed, MappedFileRefusesDamageAsTheCopyDoes) {
  testing::TempDir ws;
  const Embeddings e = two_items();
  const auto path = ws / "e.bin";
  save_embeddings(path, e);
  const std::string good = read_file_bytes(path);
  auto expect_corrupt = [&](std::string bytes, const char* why) {
    write_file_atomic(path, bytes);
    for (int copy = 0; copy < 2; ++copy) {
      try {
        if (copy == 0)
          (void)MappedEmbeddings::open(path);
        else
          (void)load_embeddings(path);
        ADD_FAILURE() << why;
      } catch (const Error& err) {
        EXPECT_EQ(err.kind(), ErrorKind::kCorrupt) << why;
        EXPECT_NE(std::string(err.what()).find(path.string()), std::string::npos) << err.what();
        EXPECT_NE(std::string(err.what()).find(why), std::string::npos) << err.what();
      }
    }
  };
  std::string flipped = good;
  flipped.back() ^= 1;
  expect_corrupt(flipped, "checksum");
  {  // left for later: open() takes it, verify() refuses it
    const MappedEmbeddings later = MappedEmbeddings::open(path, MappedEmbeddings::Checksum::kLater);
    EXPECT_EQ(later.size(), 2u);
    try {
      later.verify();
      ADD_FAILURE() << "verify() passed a damaged file";
    } catch (const Error& err) {
      EXPECT_EQ(err.kind(), ErrorKind::kCorrupt);
      EXPECT_NE(std::string(err.what()).find("checksum"), std::string::npos) << err.what();
    }
  }
  expect_corrupt(good.substr(0, good.size() - 4), "size does not match");
  expect_corrupt(good.substr(0, 10), "too short");
  expect_corrupt("", "too short");
  std::string magic = good;
  magic[0] = 'X';
  expect_corrupt(magic, "wrong magic");
  try {
    (void)MappedEmbeddings::open(ws / "absent.bin");
    FAIL();
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), ErrorKind::kNotFound);
  }
}

}  // namespace
}  // namespace mystyle::engine
