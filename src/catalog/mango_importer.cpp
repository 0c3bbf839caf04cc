// MANGO's "Fashion Compatibility" layout: product_data.csv, outfit_data.csv, images/.
#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

#include "csv_fields.h"
#include "import_batch.h"
#include "mystyle/catalog/colour_family.h"
#include "mystyle/catalog/import.h"

namespace mystyle::catalog {
namespace {

constexpr const char* kOuterwear = "Outerwear";
constexpr const char* kTops = "Tops";

struct ProductIndex {
  std::unordered_map<std::string, std::size_t> position;  // cod_modelo_color -> batch.items index
  std::unordered_map<std::string, std::size_t> line;      // cod_modelo_color -> line it was defined on
};

ProductIndex read_products(const std::filesystem::path& dir, ImportBatch& batch, ImportProblems& problems) {
  CsvReader reader(dir / "product_data.csv");
  const CsvHeader header = read_header(reader);
  const std::size_t c_id = header.require("cod_modelo_color");
  const std::size_t c_colour = header.require("des_agrup_color_eng");
  const std::size_t c_category = header.require("des_product_category");
  const std::size_t c_family = header.require("des_product_family");
  const std::size_t c_type = header.require("des_product_type");
  const std::size_t c_file = header.require("des_filename");
  const auto c_colour_name = header.find("des_color_specification_esp");

  ProductIndex index;
  std::unordered_set<std::string> unknown_colours;
  std::vector<std::string> row;
  while (reader.read_row(row)) {
    if (row.size() != header.size()) {
      problems.error(reader.where(), fmt::format("expected {} fields, found {}", header.size(), row.size()));
      continue;
    }
    const std::string& id = row[c_id];
    if (id.empty()) {
      problems.error(field_where(reader, "cod_modelo_color"), "empty product id");
      continue;
    }
    if (auto first = index.line.find(id); first != index.line.end()) {
      problems.error(field_where(reader, "cod_modelo_color"),
                     fmt::format("duplicate product id '{}' (first on line {})", id, first->second));
      continue;
    }
    ItemRecord item;
    item.source_id = id;
    item.category = row[c_category];
    item.family = row[c_family];
    item.type = row[c_type];
    item.colour = row[c_colour];  // MANGO's colour group, kept as it is; the family comes from the name
    if (c_colour_name) {
      item.colour_name = row[*c_colour_name];
      item.colour_family = colour_family_of(item.colour_name);
      if (item.colour_family.empty() && !item.colour_name.empty() && unknown_colours.insert(item.colour_name).second) {
        problems.warning(field_where(reader, "des_color_specification_esp"),
                         fmt::format("colour name '{}' has no colour family (data/colour_families.tsv); items of "
                                     "this colour show none",
                                     item.colour_name));
      }
    }
    item.name = c_colour_name && !row[*c_colour_name].empty()
                    ? fmt::format("{}, {}", item.type, row[*c_colour_name])
                    : item.type;
    item.slot = natural_slot(item.category, item.family, item.type);
    // MANGO gives no product URLs; its shop search by product code finds the product page.
    item.shop_url = fmt::format("https://shop.mango.com/search?kw={}", id);
    const auto image = dir / "images" / std::filesystem::path(row[c_file]).filename();
    if (std::filesystem::is_regular_file(image)) {
      item.image_path = std::filesystem::absolute(image).lexically_normal().string();
    } else {
      problems.warning(field_where(reader, "des_filename"), fmt::format("image file {} not found", image.string()));
    }
    index.line.emplace(id, reader.line());
    index.position.emplace(id, batch.items.size());
    batch.items.push_back(std::move(item));
  }
  return index;
}

void read_outfits(const std::filesystem::path& dir, const ProductIndex& products, ImportBatch& batch,
                  ImportProblems& problems) {
  CsvReader reader(dir / "outfit_data.csv");
  const CsvHeader header = read_header(reader);
  const std::size_t c_outfit = header.require("cod_outfit");
  const std::size_t c_product = header.require("cod_modelo_color");

  std::unordered_map<std::int64_t, std::size_t> outfit_position;
  std::unordered_set<std::string> seen_pairs;
  std::vector<std::string> row;
  while (reader.read_row(row)) {
    if (row.size() != header.size()) {
      problems.error(reader.where(), fmt::format("expected {} fields, found {}", header.size(), row.size()));
      continue;
    }
    const auto outfit = parse_int(row[c_outfit]);
    if (!outfit) {
      problems.error(field_where(reader, "cod_outfit"), fmt::format("'{}' is not a whole number", row[c_outfit]));
      continue;
    }
    const std::string& product = row[c_product];
    if (!products.position.contains(product)) {
      problems.error(field_where(reader, "cod_modelo_color"),
                     fmt::format("unknown product '{}' (not in product_data.csv)", product));
      continue;
    }
    if (!seen_pairs.insert(fmt::format("{}/{}", *outfit, product)).second) {
      problems.warning(reader.where(), fmt::format("product '{}' listed twice in outfit {}; kept once", product, *outfit));
      continue;
    }
    auto [it, added] = outfit_position.emplace(*outfit, batch.outfits.size());
    if (added) batch.outfits.push_back({std::to_string(*outfit), std::nullopt, {}});
    batch.outfits[it->second].members.emplace_back(product, Slot::kOther);
  }

  // A top is the main top unless the outfit has an outer layer, then it is worn inside.
  for (OutfitRecord& outfit : batch.outfits) {
    bool has_outer = false;
    for (const auto& [product, slot] : outfit.members) {
      has_outer |= batch.items[products.position.at(product)].category == kOuterwear;
    }
    for (auto& [product, slot] : outfit.members) {
      const ItemRecord& item = batch.items[products.position.at(product)];
      slot = (has_outer && item.category == kTops) ? Slot::kInnerTop : item.slot;
    }
  }
}

}  // namespace

ImportSummary import_mango(Catalog& catalog, const std::filesystem::path& dir) {
  ImportBatch batch{"mango", {}, {}};
  ImportProblems problems;
  const ProductIndex products = read_products(dir, batch, problems);
  read_outfits(dir, products, batch, problems);
  problems.throw_if_errors();
  return write_import_batch(catalog, batch, problems.take_warnings());
}

}  // namespace mystyle::catalog
