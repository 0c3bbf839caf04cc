// The original prototype's outfit table (AI-Hub "Fashion product and wearing images").
#include <fmt/format.h>

#include <array>
#include <unordered_map>

#include "csv_fields.h"
#include "import_batch.h"
#include "mystyle/catalog/import.h"

namespace mystyle::catalog {
namespace {

constexpr std::array<std::pair<const char*, Slot>, 5> kColumns = {{{"hat", Slot::kHat},
                                                                     {"main_top", Slot::kMainTop},
                                                                     {"inner_top", Slot::kInnerTop},
                                                                     {"bottom", Slot::kBottom},
                                                                     {"shoes", Slot::kShoes}}};
constexpr std::size_t kItemIdDigits = 7;

std::optional<std::string> existing_file(const std::optional<std::filesystem::path>& dir, const std::string& name) {
  if (!dir) return std::nullopt;
  const auto path = *dir / name;
  if (!std::filesystem::is_regular_file(path)) return std::nullopt;
  return std::filesystem::absolute(path).lexically_normal().string();
}

}  // namespace

ImportSummary import_aihub(Catalog& catalog, const std::filesystem::path& outfits_csv,
                           const std::optional<std::filesystem::path>& images_dir) {
  ImportBatch batch{"aihub", {}, {}};
  ImportProblems problems;
  CsvReader reader(outfits_csv);
  const CsvHeader header = read_header(reader);
  const std::size_t c_wearing = header.require("wearing");
  std::array<std::size_t, kColumns.size()> slot_columns{};
  for (std::size_t i = 0; i < kColumns.size(); ++i) slot_columns[i] = header.require(kColumns[i].first);

  std::unordered_map<std::string, std::size_t> outfit_line;
  std::unordered_map<std::string, std::size_t> item_position;
  std::size_t items_without_image = 0;
  std::vector<std::string> row;
  while (reader.read_row(row)) {
    if (row.size() != header.size()) {
      problems.error(reader.where(), fmt::format("expected {} fields, found {}", header.size(), row.size()));
      continue;
    }
    const std::string& wearing = row[c_wearing];
    if (wearing.empty()) {
      problems.error(field_where(reader, "wearing"), "empty outfit photo name");
      continue;
    }
    if (auto first = outfit_line.find(wearing); first != outfit_line.end()) {
      problems.error(field_where(reader, "wearing"),
                     fmt::format("duplicate outfit '{}' (first on line {})", wearing, first->second));
      continue;
    }
    outfit_line.emplace(wearing, reader.line());
    OutfitRecord outfit{wearing, existing_file(images_dir, wearing), {}};
    for (std::size_t i = 0; i < kColumns.size(); ++i) {
      const std::string& id = row[slot_columns[i]];
      if (id.empty() || id == "0") continue;  // the slot is not used in this outfit
      if (id.size() != kItemIdDigits || !parse_int(id)) {
        problems.error(field_where(reader, kColumns[i].first),
                       fmt::format("'{}' is not a {}-digit item id", id, kItemIdDigits));
        continue;
      }
      if (!item_position.contains(id)) {
        ItemRecord item;
        item.source_id = id;
        item.name = fmt::format("AI-Hub item {}", id);
        item.slot = kColumns[i].second;  // the slot it is first seen in
        item.image_path = existing_file(images_dir, id + "_F.jpg");
        if (images_dir && !item.image_path) ++items_without_image;
        item_position.emplace(id, batch.items.size());
        batch.items.push_back(std::move(item));
      }
      outfit.members.emplace_back(id, kColumns[i].second);
    }
    batch.outfits.push_back(std::move(outfit));
  }
  if (items_without_image > 0) {
    problems.warning(images_dir->string(), fmt::format("{} items have no <id>_F.jpg image here", items_without_image));
  }
  problems.throw_if_errors();
  return write_import_batch(catalog, batch, problems.take_warnings());
}

}  // namespace mystyle::catalog
