#pragma once
// A small real workspace, for tests that need a trained model over real MANGO photos in seconds:
// the whole MANGO catalog imported, seed64 trained one epoch on its first 300 items, then the catalog
// cut to those items (their outfits kept) and embedded. Link mystyle::train (and so the engine).
#include <filesystem>
#include <functional>

#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/import.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/train/family.h"
#include "support/test_support.h"

namespace mystyle::testing {

/// Makes the workspace in `dir`; `edit` may change the cut catalog before it is embedded. False (and
/// nothing made) when the MANGO data set is absent.
inline bool make_seed64_mango_workspace(const std::filesystem::path& dir,
                                        const std::function<void(catalog::Catalog&)>& edit = {}) {
  const auto mango = dataset_path("mango/product_data.csv");
  if (mango.empty()) return false;
  catalog::Catalog cat(dir);
  catalog::import_mango(cat, mango.parent_path());
  train::TrainOptions o;
  o.model = "seed64";
  o.epochs = 1;
  o.batch_size = 32;
  o.threads = 2;
  o.max_items = 300;
  train::train_on_catalog(engine::Workspace(dir), o);
  cat.db().exec("DELETE FROM outfit_items WHERE item_id > 300");
  cat.db().exec("DELETE FROM outfits WHERE id NOT IN (SELECT outfit_id FROM outfit_items)");
  cat.db().exec("DELETE FROM items WHERE id > 300");
  if (edit) edit(cat);
  engine::embed_catalog(engine::Workspace(dir), "seed64", nn::LatentPooling::kFlat, 2);
  return true;
}

}  // namespace mystyle::testing
