#pragma once
// A small real workspace: the first N MANGO products (real photos) imported through the generic CSV
// importer, so engine tests run on real images in seconds.
#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <set>

#include "mystyle/catalog/import.h"
#include "mystyle/core/csv_reader.h"
#include "support/test_support.h"

namespace mystyle::testing {

/// items.csv text (the generic format) for the MANGO products that `keep(n, product id)` accepts,
/// n counting rows from 0, reading stops when it returns nullopt; names are "item <n>".
template <typename Keep>
std::string mango_items_csv(const std::filesystem::path& product_data, Keep&& keep) {
  CsvReader reader(product_data);
  std::vector<std::string> row;
  reader.read_row(row);
  CsvHeader header(row, reader.where());
  const auto c_id = header.require("cod_modelo_color"), c_cat = header.require("des_product_category");
  const auto c_file = header.require("des_filename");
  const auto c_family = header.require("des_product_family"), c_type = header.require("des_product_type");
  const auto c_colour = header.require("des_agrup_color_eng");
  std::string csv = "id,name,category,family,type,colour,url,image\n";
  for (std::size_t n = 0; reader.read_row(row); ++n) {
    const std::optional<bool> take = keep(n, row[c_id]);
    if (!take) break;
    if (!*take) continue;
    const auto image = product_data.parent_path() / "images" / std::filesystem::path(row[c_file]).filename();
    csv += fmt::format("{},item {},\"{}\",\"{}\",\"{}\",\"{}\",https://shop.example/{},{}\n", row[c_id], n,
                       row[c_cat], row[c_family], row[c_type], row[c_colour], row[c_id], image.string());
  }
  return csv;
}

/// Writes items.csv for the first `count` MANGO products and imports it into `workspace`.
/// Returns false when the MANGO data set is absent.
inline bool import_mango_sample(const std::filesystem::path& workspace, std::size_t count, std::size_t skip = 0) {
  const auto mango = dataset_path("mango/product_data.csv");
  if (mango.empty()) return false;
  const std::string csv = mango_items_csv(mango, [&](std::size_t n, const std::string&) -> std::optional<bool> {
    if (n >= skip + count) return std::nullopt;
    return n >= skip;
  });
  const auto items = write_file(workspace / fmt::format("items-{}-{}.csv", skip, count), csv);
  catalog::Catalog cat(workspace);
  catalog::import_csv(cat, items, std::nullopt, "mango", mango.parent_path() / "images");
  return true;
}

/// Imports the first `outfits` MANGO outfits with all their products (real photos), through the
/// generic CSV importer: a small catalog whose outfits are whole. Returns false when the MANGO data
/// set is absent.
inline bool import_mango_outfits_sample(const std::filesystem::path& workspace, std::size_t outfits) {
  const auto mango = dataset_path("mango/product_data.csv");
  if (mango.empty()) return false;
  std::vector<std::string> row;
  CsvReader outfit_reader(mango.parent_path() / "outfit_data.csv");
  outfit_reader.read_row(row);
  CsvHeader outfit_header(row, outfit_reader.where());
  const auto c_outfit = outfit_header.require("cod_outfit"), c_item = outfit_header.require("cod_modelo_color");
  std::string outfits_csv = "outfit_id,item_id\n";
  std::set<std::string> wanted, seen_outfits;
  while (outfit_reader.read_row(row)) {
    if (!seen_outfits.contains(row[c_outfit])) {
      if (seen_outfits.size() == outfits) break;
      seen_outfits.insert(row[c_outfit]);
    }
    wanted.insert(row[c_item]);
    outfits_csv += fmt::format("{},{}\n", row[c_outfit], row[c_item]);
  }
  const std::string csv = mango_items_csv(
      mango, [&](std::size_t, const std::string& id) -> std::optional<bool> { return wanted.contains(id); });
  const auto items = write_file(workspace / "outfit-items.csv", csv);
  const auto outfit_file = write_file(workspace / "outfits.csv", outfits_csv);
  catalog::Catalog cat(workspace);
  catalog::import_csv(cat, items, outfit_file, "mango", mango.parent_path() / "images");
  return true;
}

}  // namespace mystyle::testing
