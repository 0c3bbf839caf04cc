#pragma once
// A small real workspace for server tests: the first N MANGO outfits with all their products
// (real photos, real outfit memberships), imported through the generic CSV importer, trained for
// one epoch and embedded: a few seconds, shared by every test of a suite.
#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "mystyle/catalog/import.h"
#include "mystyle/core/csv_reader.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/train/family.h"
#include "support/test_support.h"

namespace mystyle::testing {

inline std::string csv_quote(const std::string& field) {
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

/// Imports the first `outfit_count` MANGO outfits and their products into `workspace`; outfit 1
/// gets a "worn" photo (its first product's image) so that outfit photos can be served. Returns
/// false when the MANGO data set is absent.
inline bool import_mango_outfits(const std::filesystem::path& workspace, std::size_t outfit_count) {
  const auto products = dataset_path("mango/product_data.csv");
  const auto outfits_csv = dataset_path("mango/outfit_data.csv");
  if (products.empty() || outfits_csv.empty()) return false;
  std::vector<std::string> row;

  CsvReader outfits(outfits_csv);
  outfits.read_row(row);
  const CsvHeader oh(row, outfits.where());
  const auto c_outfit = oh.require("cod_outfit"), c_member = oh.require("cod_modelo_color");
  std::vector<std::pair<std::string, std::string>> members;  // outfit, product
  std::set<std::string> outfit_ids, wanted;
  while (outfits.read_row(row)) {
    if (!outfit_ids.contains(row[c_outfit]) && outfit_ids.size() == outfit_count) break;
    outfit_ids.insert(row[c_outfit]);
    members.emplace_back(row[c_outfit], row[c_member]);
    wanted.insert(row[c_member]);
  }

  CsvReader reader(products);
  reader.read_row(row);
  const CsvHeader h(row, reader.where());
  const auto c_id = h.require("cod_modelo_color"), c_cat = h.require("des_product_category");
  const auto c_family = h.require("des_product_family"), c_type = h.require("des_product_type");
  const auto c_colour = h.require("des_agrup_color_eng"), c_file = h.require("des_filename");
  const auto c_colour_name = h.require("des_color_specification_esp");
  std::string items = "id,name,category,family,type,colour,url,image,colour_name\n";
  std::map<std::string, std::string> image_of;
  while (reader.read_row(row)) {
    if (!wanted.contains(row[c_id])) continue;
    const auto image = products.parent_path() / "images" / std::filesystem::path(row[c_file]).filename();
    image_of[row[c_id]] = image.string();
    items += fmt::format("{},{},{},{},{},{},https://shop.mango.com/search?kw={},{},{}\n", row[c_id],
                         csv_quote(row[c_type] + ", " + row[c_colour]), csv_quote(row[c_cat]),
                         csv_quote(row[c_family]), csv_quote(row[c_type]), csv_quote(row[c_colour]),
                         row[c_id], csv_quote(image.string()), csv_quote(row[c_colour_name]));
  }
  std::string outfit_rows = "outfit_id,item_id,photo\n";
  std::string first_outfit;
  for (const auto& [outfit, product] : members) {
    if (!image_of.contains(product)) continue;
    const bool with_photo = first_outfit.empty() || first_outfit == outfit;
    if (first_outfit.empty()) first_outfit = outfit;
    outfit_rows += fmt::format("{},{},{}\n", outfit, product,
                               with_photo ? csv_quote(image_of[members.front().second]) : "");
  }
  const auto items_path = write_file(workspace / "sample-items.csv", items);
  const auto outfits_path = write_file(workspace / "sample-outfits.csv", outfit_rows);
  catalog::Catalog cat(workspace);
  catalog::import_csv(cat, items_path, outfits_path, "mango", dataset_path("mango/images"));
  return true;
}

/// Copies the files of `from` into `to`. Other test processes may have `from` open meanwhile: the
/// SQLite catalog's -wal and -shm files come and go with its readers (the made workspace's writes
/// were checkpointed when it was made), and the index is saved through a temporary file; those are
/// skipped, as is any file that vanishes while we copy.
inline void copy_workspace(const std::filesystem::path& from, const std::filesystem::path& to) {
  namespace fs = std::filesystem;
  for (const auto& entry : fs::recursive_directory_iterator(from)) {
    const auto target = to / fs::relative(entry.path(), from);
    const std::string name = entry.path().filename().string();
    std::error_code ec;
    if (entry.is_directory(ec)) {
      fs::create_directories(target);
    } else if (name.ends_with("-wal") || name.ends_with("-shm") || name.ends_with("-journal")) {
      continue;
    } else if (!fs::copy_file(entry.path(), target, ec) && fs::exists(entry.path())) {
      throw fs::filesystem_error("cannot copy the test workspace", entry.path(), target, ec);
    }
  }
}

/// import_mango_outfits, then one quick epoch of training and the embeddings.
inline bool make_trained_workspace(const std::filesystem::path& workspace, std::size_t outfit_count) {
  if (!import_mango_outfits(workspace, outfit_count)) return false;
  train::TrainOptions o;
  o.epochs = 1;
  o.batch_size = 16;
  o.threads = 2;
  o.seed = 7;
  train::train_on_catalog(engine::Workspace(workspace), o);
  engine::embed_catalog(engine::Workspace(workspace), o.model, nn::LatentPooling::kFlat, /*threads=*/2);
  // The index is saved on first open; its folder is not always made for it (engine::sync_index).
  return true;
}

/// The trained workspace at `dir`, made there first when absent or unusable. Made under a
/// temporary name and renamed into place, so test processes running at once never see half of
/// one; every test process of the suite then reuses it instead of training again.
inline std::unique_ptr<engine::Recommender> open_shared_workspace(const std::filesystem::path& dir,
                                                                  std::size_t outfit_count) {
  if (std::filesystem::exists(engine::Workspace(dir).embeddings_file(engine::kDefaultModel, "flat"))) {
    try {
      return engine::Recommender::open(engine::Workspace(dir), engine::RecommenderConfig{});
    } catch (const mystyle::Error&) {
      std::filesystem::remove_all(dir);  // made by an older build: make it again
    }
  }
  const auto tmp = dir.string() + fmt::format(".tmp-{}", ::getpid());
  std::filesystem::remove_all(tmp);
  if (!make_trained_workspace(tmp, outfit_count)) return nullptr;
  std::error_code ec;
  std::filesystem::create_directories(dir.parent_path(), ec);
  std::filesystem::rename(tmp, dir, ec);
  if (ec) std::filesystem::remove_all(tmp);  // another process made it first
  return engine::Recommender::open(engine::Workspace(dir), engine::RecommenderConfig{});
}

}  // namespace mystyle::testing
