#include "import_batch.h"

#include <fmt/format.h>

#include "mystyle/core/error.h"

namespace mystyle::catalog {

void ImportProblems::error(const std::string& where, const std::string& what) {
  errors_.push_back(fmt::format("{}: {}", where, what));
}

void ImportProblems::warning(const std::string& where, const std::string& what) {
  warnings_.push_back(fmt::format("{}: {}", where, what));
}

void ImportProblems::throw_if_errors() const {
  if (errors_.empty()) return;
  constexpr std::size_t kShown = 20;
  std::string message = errors_.front();
  if (errors_.size() > 1) {
    message = fmt::format("{} problems, import aborted, catalog unchanged:", errors_.size());
    for (std::size_t i = 0; i < errors_.size() && i < kShown; ++i) message += "\n  " + errors_[i];
    if (errors_.size() > kShown) message += fmt::format("\n  ... and {} more", errors_.size() - kShown);
  } else {
    message += " (import aborted, catalog unchanged)";
  }
  throw Error(message, ErrorKind::kInvalidInput);
}

ImportSummary write_import_batch(Catalog& catalog, const ImportBatch& batch, std::vector<std::string> warnings) {
  Database& db = catalog.db();
  ImportSummary summary;
  summary.source = batch.source;
  summary.warnings = std::move(warnings);

  Transaction tx(db);
  std::unordered_map<std::string, std::int64_t> item_ids;
  {
    auto existing = db.prepare("SELECT source_id, id FROM items WHERE source = ?1");
    existing.bind(1, batch.source);
    while (existing.step()) item_ids.emplace(existing.column_text(0), existing.column_int64(1));
  }
  auto insert_item = db.prepare(
      fmt::format("INSERT INTO items (id, source, source_id, name, category, family, type, colour, slot, shop_url,"
                  " image_path, colour_name, colour_family) VALUES ({}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                  " ?12)",
                  next_id_sql("items")));
  auto update_item = db.prepare(
      "UPDATE items SET name = ?3, category = ?4, family = ?5, type = ?6, colour = ?7, slot = ?8, shop_url = ?9,"
      " image_path = ?10, colour_name = ?11, colour_family = ?12 WHERE source = ?1 AND source_id = ?2");
  for (const ItemRecord& r : batch.items) {
    const bool exists = item_ids.contains(r.source_id);
    Statement& s = exists ? update_item : insert_item;
    s.bind(1, batch.source).bind(2, r.source_id).bind(3, r.name).bind(4, r.category).bind(5, r.family);
    s.bind(6, r.type).bind(7, r.colour).bind(8, slot_name(r.slot)).bind(9, r.shop_url).bind(10, r.image_path);
    s.bind(11, r.colour_name).bind(12, r.colour_family);
    s.run();
    if (exists) {
      ++summary.items_updated;
    } else {
      item_ids.emplace(r.source_id, db.last_insert_id());
      ++summary.items_added;
    }
  }

  std::unordered_map<std::string, std::int64_t> outfit_ids;
  {
    auto existing = db.prepare("SELECT source_id, id FROM outfits WHERE source = ?1");
    existing.bind(1, batch.source);
    while (existing.step()) outfit_ids.emplace(existing.column_text(0), existing.column_int64(1));
  }
  auto insert_outfit = db.prepare(
      fmt::format("INSERT INTO outfits (id, source, source_id, photo_path) VALUES ({}, ?1, ?2, ?3)", next_id_sql("outfits")));
  auto update_outfit = db.prepare("UPDATE outfits SET photo_path = ?3 WHERE source = ?1 AND source_id = ?2");
  auto clear_members = db.prepare("DELETE FROM outfit_items WHERE outfit_id = ?1");
  auto insert_member =
      db.prepare("INSERT INTO outfit_items (outfit_id, position, item_id, slot) VALUES (?1, ?2, ?3, ?4)");
  for (const OutfitRecord& r : batch.outfits) {
    std::int64_t outfit_id;
    if (auto it = outfit_ids.find(r.source_id); it != outfit_ids.end()) {
      outfit_id = it->second;
      update_outfit.bind(1, batch.source).bind(2, r.source_id).bind(3, r.photo_path).run();
      clear_members.bind(1, outfit_id).run();
      ++summary.outfits_updated;
    } else {
      insert_outfit.bind(1, batch.source).bind(2, r.source_id).bind(3, r.photo_path).run();
      outfit_id = db.last_insert_id();
      outfit_ids.emplace(r.source_id, outfit_id);
      ++summary.outfits_added;
    }
    std::int64_t position = 0;
    for (const auto& [item_source_id, slot] : r.members) {
      auto item = item_ids.find(item_source_id);
      if (item == item_ids.end()) {  // the importers check this while parsing; a miss is a bug
        throw Error(fmt::format("internal: outfit {} names unknown item {}", r.source_id, item_source_id));
      }
      insert_member.bind(1, outfit_id).bind(2, position++).bind(3, item->second).bind(4, slot_name(slot)).run();
      ++summary.memberships;
    }
  }
  tx.commit();
  return summary;
}

}  // namespace mystyle::catalog
