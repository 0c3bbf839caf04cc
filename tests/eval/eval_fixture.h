#pragma once
// A small hand-made catalog for the outfit evaluation: 90 designs (ids "D<n>-<colour>", one or
// two colours), 30 in each of three categories, and 150 outfits of a top, a bottom and shoes.
#include <fmt/format.h>

#include "mystyle/catalog/import.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/train/family.h"
#include "mystyle/recommend/outfit_graph.h"
#include "support/test_support.h"

namespace mystyle::testing {

/// A real model for evaluation tests, in seconds: the seed64 autoencoder trained one epoch on the
/// workspace's photos (2 threads; `batch_size` 0 = the default), then every item's flat code embedded.
inline void train_one_epoch_and_embed(const std::filesystem::path& workspace, int batch_size = 0) {
  const engine::Workspace ws(workspace);
  train::TrainOptions train;
  train.model = "seed64";
  train.epochs = 1;
  if (batch_size > 0) train.batch_size = batch_size;
  train.threads = 2;
  train::train_on_catalog(ws, train);
  engine::embed_catalog(ws, "seed64", nn::LatentPooling::kFlat, 2);
}

class EvalCatalog {
 public:
  EvalCatalog() {
    const char* categories[] = {"Tops", "Bottoms", "Footwear"};
    std::string items = "id,name,category,url\n";
    for (int d = 0; d < 90; ++d) {
      for (int colour = 1; colour <= 1 + d % 2; ++colour) {
        items += fmt::format("D{}-0{},Item,{},u\n", d, colour, categories[d % 3]);
      }
    }
    std::string outfits = "outfit_id,item_id\n";
    for (int o = 0; o < 150; ++o) {
      // Design d has category d % 3: pick one design per category, varying with o.
      const int top = 3 * ((o * 7) % 30), bottom = 3 * ((o * 11 + 1) % 30) + 1,
                shoes = 3 * ((o * 13 + 4) % 30) + 2;
      for (int d : {top, bottom, shoes}) outfits += fmt::format("o{},D{}-01\n", o, d);
    }
    catalog::import_csv(cat_, write_file(dir_ / "items.csv", items),
                        write_file(dir_ / "outfits.csv", outfits), "t");
    graph_ = recommend::OutfitGraph::load(cat_);
  }
  const recommend::OutfitGraph& graph() const { return graph_; }
  catalog::Catalog& catalog() { return cat_; }

 private:
  TempDir dir_;
  catalog::Catalog cat_{dir_ / "ws"};
  recommend::OutfitGraph graph_;
};

}  // namespace mystyle::testing
