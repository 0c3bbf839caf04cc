#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "engine_fixture.h"
#include "mystyle/catalog/design_split.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/train/style_job.h"
#include "mystyle/nn/model_file.h"

namespace mystyle::engine {
namespace {

using namespace ::mystyle::train;  // the training wing: models trained for these tests

TrainOptions quick_style(int epochs) {
  TrainOptions o;
  o.model = "style";
  o.epochs = epochs;
  o.batch_size = 16;
  o.threads = 2;
  o.seed = 7;
  o.patience = 100;
  return o;
}

std::vector<catalog::Item> photo_items(const Workspace& w) {
  catalog::Catalog cat(w.root());
  std::vector<catalog::Item> items;
  for (auto& i : cat.all_items()) {
    if (i.image_path) items.push_back(std::move(i));
  }
  return items;
}

// No held-out design's item reaches training or validation, every design sits wholly on one side,
// and the label vocabulary comes from training items only.
TEST(StyleSplit, HeldOutDesignsNeverReachTraining) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 400)) GTEST_SKIP() << "MANGO data set absent";
  const auto items = photo_items(Workspace(ws.path()));
  const StyleSplit split = make_style_split(items, 1);
  ASSERT_EQ(split.train.size() + split.validation.size() + split.held_out, items.size());
  EXPECT_GT(split.held_out, 40u);  // ~20% of 400
  EXPECT_GT(split.validation.size(), 10u);
  std::set<std::string> train_designs, val_designs, held_designs;
  for (const auto& item : items) {
    if (catalog::is_held_out_design(item, 1)) held_designs.insert(catalog::design_of(item.source_id));
  }
  for (std::size_t i : split.train) {
    EXPECT_FALSE(catalog::is_held_out_design(items[i], 1)) << items[i].source_id;
    train_designs.insert(catalog::design_of(items[i].source_id));
  }
  for (std::size_t i : split.validation) {
    EXPECT_FALSE(catalog::is_held_out_design(items[i], 1)) << items[i].source_id;
    val_designs.insert(catalog::design_of(items[i].source_id));
  }
  for (const auto& d : val_designs) EXPECT_FALSE(train_designs.contains(d)) << d;
  for (const auto& d : held_designs) EXPECT_FALSE(train_designs.contains(d) || val_designs.contains(d)) << d;

  // A label carried only by held-out items is not in the vocabulary.
  const auto vocab = style_vocabulary(items, split.train);
  std::set<std::string> train_types;
  for (std::size_t i : split.train) train_types.insert(items[i].type);
  EXPECT_EQ(std::set<std::string>(vocab[0].begin(), vocab[0].end()), train_types);
  // Another split seed holds out other designs.
  const StyleSplit other = make_style_split(items, 2);
  EXPECT_NE(other.train, split.train);
}

// Training on real photos raises validation accuracy, writes the report, and the report's split is
// the one make_style_split computes; embeddings are unit vectors.
TEST(StyleTrainJob, TrainsOnTrainingDesignsAndEmbedsUnitVectors) {
  testing::TempDir ws;
  if (!testing::import_mango_sample(ws.path(), 160)) GTEST_SKIP() << "MANGO data set absent";
  const Workspace w(ws.path());
  const TrainReport r = train_on_catalog(w, quick_style(3));
  EXPECT_TRUE(r.label_trained);
  EXPECT_EQ(r.epochs_run, 3);
  const StyleSplit split = make_style_split(photo_items(w), 1);
  EXPECT_EQ(r.train_images, split.train.size());
  EXPECT_EQ(r.val_images, split.validation.size());
  EXPECT_EQ(r.test_images, split.held_out);
  const auto doc = nlohmann::json::parse(read_file_bytes(w.report_dir("style") / "train.json"));
  EXPECT_EQ(doc["split"]["held_out_items_never_used"].get<std::size_t>(), split.held_out);
  for (const char* f : {"loss_curve.png", "accuracy_curve.png", "history.csv"}) {
    EXPECT_TRUE(std::filesystem::exists(w.report_dir("style") / f)) << f;
  }
  const Embeddings e = load_embeddings(embed_catalog(w, "style", nn::LatentPooling::kFlat, 2).path);
  ASSERT_EQ(e.dim, 128);
  EXPECT_EQ(e.size(), 160u);
  for (std::size_t i = 0; i < e.size(); ++i) {
    double s = 0;
    for (int d = 0; d < e.dim; ++d) s += e.row(i)[d] * e.row(i)[d];
    EXPECT_NEAR(s, 1.0, 1e-4);
  }
}

// A run stopped after 1 epoch and resumed gives the same checkpoint as 2 epochs straight.
TEST(StyleTrainJob, ResumeIsBitIdentical) {
  testing::TempDir a, b;
  if (!testing::import_mango_sample(a.path(), 60)) GTEST_SKIP() << "MANGO data set absent";
  testing::import_mango_sample(b.path(), 60);
  train_on_catalog(Workspace(a.path()), quick_style(2));
  TrainOptions first = quick_style(2);
  first.stop_after_epochs = 1;
  train_on_catalog(Workspace(b.path()), first);
  TrainOptions rest = quick_style(2);
  rest.resume = true;
  EXPECT_EQ(train_on_catalog(Workspace(b.path()), rest).epochs_run, 2);
  EXPECT_EQ(read_file_bytes(Workspace(a.path()).checkpoint_file("style")),
            read_file_bytes(Workspace(b.path()).checkpoint_file("style")));
}

}  // namespace
}  // namespace mystyle::engine
