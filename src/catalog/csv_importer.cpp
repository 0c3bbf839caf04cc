// The generic shop format (see the README, "Importing your own catalog").
#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

#include "csv_fields.h"
#include "import_batch.h"
#include "mystyle/catalog/colour_family.h"
#include "mystyle/catalog/import.h"
#include "mystyle/core/error.h"

namespace mystyle::catalog {
namespace {

std::string optional_field(const std::vector<std::string>& row, std::optional<std::size_t> column) {
  return column ? row[*column] : std::string();
}

/// True when `inner` (canonical) lies inside the folder `root` (canonical).
bool inside(const std::filesystem::path& inner, const std::filesystem::path& root) {
  auto i = inner.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++i) {
    if (r->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *r) return false;
  }
  return true;
}

/// A photo named by a CSV field: relative to the CSV's folder (or absolute), and once symlinks are
/// resolved inside `root`, the only folder the import may read photos from. A photo outside it is
/// an error (a shop's CSV must not make the server publish /etc/passwd or another user's files); a
/// missing one a warning. Returns the canonical path when it may be used.
std::optional<std::string> confined_file(const std::string& value, const std::filesystem::path& base,
                                         const std::filesystem::path& root, const std::string& where,
                                         const char* what, ImportProblems& problems) {
  const auto path = std::filesystem::path(value).is_absolute() ? std::filesystem::path(value) : base / value;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    problems.warning(where, fmt::format("{} file {} not found", what, path.string()));
    return std::nullopt;
  }
  const auto real = std::filesystem::canonical(path, ec);
  if (ec || !inside(real, root)) {
    problems.error(where, fmt::format("{} '{}' is {}, outside the images folder {} (photos must be inside it, "
                                      "symlinks out included; --images-root names another folder)",
                                      what, value, ec ? "unreadable" : real.string(), root.string()));
    return std::nullopt;
  }
  return real.string();
}

void read_items(const std::filesystem::path& items_csv, const std::filesystem::path& images_root,
                ImportBatch& batch, ImportProblems& problems,
                std::unordered_map<std::string, std::size_t>& item_position) {
  CsvReader reader(items_csv);
  const CsvHeader header = read_header(reader);
  const std::size_t c_id = header.require("id");
  const std::size_t c_name = header.require("name");
  const std::size_t c_category = header.require("category");
  const std::size_t c_url = header.require("url");
  const auto c_family = header.find("family"), c_type = header.find("type"), c_colour = header.find("colour");
  const auto c_slot = header.find("slot"), c_image = header.find("image");
  const auto c_colour_name = header.find("colour_name"), c_colour_family = header.find("colour_family");
  const auto base = items_csv.parent_path();

  std::unordered_map<std::string, std::size_t> first_line;
  std::vector<std::string> row;
  while (reader.read_row(row)) {
    if (row.size() != header.size()) {
      problems.error(reader.where(), fmt::format("expected {} fields, found {}", header.size(), row.size()));
      continue;
    }
    ItemRecord item;
    item.source_id = row[c_id];
    if (item.source_id.empty()) {
      problems.error(field_where(reader, "id"), "empty item id");
      continue;
    }
    if (auto first = first_line.find(item.source_id); first != first_line.end()) {
      problems.error(field_where(reader, "id"),
                     fmt::format("duplicate item id '{}' (first on line {})", item.source_id, first->second));
      continue;
    }
    item.name = row[c_name];
    item.category = row[c_category];
    item.shop_url = row[c_url];
    item.family = optional_field(row, c_family);
    item.type = optional_field(row, c_type);
    item.colour = optional_field(row, c_colour);
    item.colour_name = optional_field(row, c_colour_name);
    if (const std::string family = optional_field(row, c_colour_family); !family.empty()) {
      const auto parsed = parse_colour_family(family);
      if (!parsed) {
        problems.error(field_where(reader, "colour_family"),
                       fmt::format("unknown colour family '{}' (known: {}; or leave it empty to read it from "
                                   "colour_name)",
                                   family, colour_family_list()));
        continue;
      }
      item.colour_family = *parsed;
    } else {
      item.colour_family = derived_colour_family(item.colour_name, item.colour);
    }
    const std::string slot = optional_field(row, c_slot);
    if (slot.empty()) {
      item.slot = natural_slot(item.category, item.family, item.type);
    } else if (auto parsed = parse_slot(slot)) {
      item.slot = *parsed;
    } else {
      problems.error(field_where(reader, "slot"), fmt::format("unknown slot '{}'", slot));
      continue;
    }
    if (const std::string image = optional_field(row, c_image); !image.empty()) {
      item.image_path = confined_file(image, base, images_root, field_where(reader, "image"), "image", problems);
    }
    first_line.emplace(item.source_id, reader.line());
    item_position.emplace(item.source_id, batch.items.size());
    batch.items.push_back(std::move(item));
  }
}

void read_outfits(Catalog& catalog, const std::filesystem::path& outfits_csv, const std::filesystem::path& images_root,
                  ImportBatch& batch, ImportProblems& problems,
                  const std::unordered_map<std::string, std::size_t>& item_position) {
  CsvReader reader(outfits_csv);
  const CsvHeader header = read_header(reader);
  const std::size_t c_outfit = header.require("outfit_id");
  const std::size_t c_item = header.require("item_id");
  const auto c_slot = header.find("slot"), c_photo = header.find("photo");
  const auto base = outfits_csv.parent_path();

  std::unordered_map<std::string, std::size_t> outfit_position;
  std::unordered_set<std::string> seen_pairs;
  std::vector<std::string> row;
  while (reader.read_row(row)) {
    if (row.size() != header.size()) {
      problems.error(reader.where(), fmt::format("expected {} fields, found {}", header.size(), row.size()));
      continue;
    }
    const std::string& outfit_id = row[c_outfit];
    const std::string& item_id = row[c_item];
    if (outfit_id.empty()) {
      problems.error(field_where(reader, "outfit_id"), "empty outfit id");
      continue;
    }
    std::optional<Slot> item_slot;
    if (auto pos = item_position.find(item_id); pos != item_position.end()) {
      item_slot = batch.items[pos->second].slot;
    } else if (auto known = catalog.find_item_by_source(batch.source, item_id)) {
      item_slot = known->slot;
    } else {
      problems.error(field_where(reader, "item_id"), fmt::format("unknown item '{}'", item_id));
      continue;
    }
    Slot slot = *item_slot;
    if (const std::string text = optional_field(row, c_slot); !text.empty()) {
      auto parsed = parse_slot(text);
      if (!parsed) {
        problems.error(field_where(reader, "slot"), fmt::format("unknown slot '{}'", text));
        continue;
      }
      slot = *parsed;
    }
    if (!seen_pairs.insert(outfit_id + "\n" + item_id).second) {
      problems.warning(reader.where(), fmt::format("item '{}' listed twice in outfit '{}'; kept once", item_id, outfit_id));
      continue;
    }
    auto [it, added] = outfit_position.emplace(outfit_id, batch.outfits.size());
    if (added) batch.outfits.push_back({outfit_id, std::nullopt, {}});
    OutfitRecord& outfit = batch.outfits[it->second];
    if (const std::string photo = optional_field(row, c_photo); !photo.empty() && !outfit.photo_path) {
      outfit.photo_path = confined_file(photo, base, images_root, field_where(reader, "photo"), "photo", problems);
    }
    outfit.members.emplace_back(item_id, slot);
  }
}

}  // namespace

ImportSummary import_csv(Catalog& catalog, const std::filesystem::path& items_csv,
                         const std::optional<std::filesystem::path>& outfits_csv, const std::string& source,
                         const std::optional<std::filesystem::path>& images_root) {
  ImportBatch batch{source, {}, {}};
  ImportProblems problems;
  std::unordered_map<std::string, std::size_t> item_position;
  std::error_code ec;
  const auto root_given = images_root ? *images_root : std::filesystem::absolute(items_csv).parent_path();
  const auto root = std::filesystem::weakly_canonical(root_given, ec);
  if (ec || !std::filesystem::is_directory(root)) {
    throw Error(fmt::format("images folder {}: not a folder", root_given.string()), ErrorKind::kNotFound);
  }
  read_items(items_csv, root, batch, problems, item_position);
  if (outfits_csv) read_outfits(catalog, *outfits_csv, root, batch, problems, item_position);
  problems.throw_if_errors();
  return write_import_batch(catalog, batch, problems.take_warnings());
}

}  // namespace mystyle::catalog
