#pragma once
// A small real workspace: the first N MANGO products (real photos) imported through the generic CSV
// importer, so engine tests run on real images in seconds.
#include <fmt/format.h>

#include <fstream>

#include "mystyle/catalog/import.h"
#include "mystyle/core/csv_reader.h"
#include "support/test_support.h"

namespace mystyle::testing {

/// Writes items.csv for the first `count` MANGO products and imports it into `workspace`.
/// Returns false when the MANGO data set is absent.
inline bool import_mango_sample(const std::filesystem::path& workspace, std::size_t count, std::size_t skip = 0) {
  const auto mango = dataset_path("mango/product_data.csv");
  if (mango.empty()) return false;
  CsvReader reader(mango);
  std::vector<std::string> row;
  reader.read_row(row);
  CsvHeader header(row, reader.where());
  const auto c_id = header.require("cod_modelo_color"), c_cat = header.require("des_product_category");
  const auto c_file = header.require("des_filename");
  const auto c_family = header.require("des_product_family"), c_type = header.require("des_product_type");
  const auto c_colour = header.require("des_agrup_color_eng");
  std::string csv = "id,name,category,family,type,colour,url,image\n";
  for (std::size_t n = 0; n < skip + count && reader.read_row(row); ++n) {
    if (n < skip) continue;
    const auto image = mango.parent_path() / "images" / std::filesystem::path(row[c_file]).filename();
    csv += fmt::format("{},item {},\"{}\",\"{}\",\"{}\",\"{}\",https://shop.example/{},{}\n", row[c_id], n,
                       row[c_cat], row[c_family], row[c_type], row[c_colour], row[c_id], image.string());
  }
  const auto items = write_file(workspace / fmt::format("items-{}-{}.csv", skip, count), csv);
  catalog::Catalog cat(workspace);
  catalog::import_csv(cat, items, std::nullopt, "mango");
  return true;
}

}  // namespace mystyle::testing
