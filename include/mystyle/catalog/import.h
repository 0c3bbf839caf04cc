#pragma once
/// Importers: MANGO's catalog, the original's AI-Hub outfit table, and a generic CSV format.
/// Each parses and checks everything first, then writes in one transaction: a fatal problem
/// (missing column, bad number, duplicate id, unknown item in an outfit) aborts with an Error
/// listing every problem by `file:line: field`, and the catalog stays as it was. Importing the
/// same data again updates in place and duplicates nothing.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mystyle/catalog/catalog.h"

namespace mystyle::catalog {

struct ImportSummary {
  std::string source;
  std::int64_t items_added = 0, items_updated = 0;
  std::int64_t outfits_added = 0, outfits_updated = 0;
  std::int64_t memberships = 0;        ///< outfit memberships written by this import
  std::vector<std::string> warnings;   ///< non-fatal problems (a missing image file, ...)
};

/// `dir` holds product_data.csv, outfit_data.csv and images/ (MANGO's layout). An item's `colour` is
/// MANGO's colour group (des_agrup_color_eng), its colour_name MANGO's colour name
/// (des_color_specification_esp) and its colour_family the family of that name.
ImportSummary import_mango(Catalog& catalog, const std::filesystem::path& dir);

/// The original's outfit table (`wearing,hat,main_top,inner_top,bottom,shoes`; item id = 7-digit
/// number; empty or 0 = slot unused). With `images_dir`, item photos `<id>_F.jpg` and outfit photos
/// (`wearing`) found there are linked.
ImportSummary import_aihub(Catalog& catalog, const std::filesystem::path& outfits_csv,
                           const std::optional<std::filesystem::path>& images_dir = std::nullopt);

/// The generic format documented in the README. `items_csv` columns: id, name, category, url
/// (required); family, type, colour, colour_name, colour_family, slot, image (optional; image relative
/// to the CSV's folder). colour_family must be a family name (colour_family.h; an unknown one is an
/// error naming file, line and field); when empty it is read from colour_name, else from colour.
/// `outfits_csv` (optional) columns: outfit_id, item_id (required); slot, photo (optional).
/// Photos (image, photo) must lie inside `images_root` (default: the items CSV's folder) once
/// `..` and symlinks are resolved: one outside is an error naming the file, line and field.
ImportSummary import_csv(Catalog& catalog, const std::filesystem::path& items_csv,
                         const std::optional<std::filesystem::path>& outfits_csv, const std::string& source = "csv",
                         const std::optional<std::filesystem::path>& images_root = std::nullopt);

}  // namespace mystyle::catalog
