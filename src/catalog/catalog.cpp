#include "mystyle/catalog/catalog.h"

#include <fmt/format.h>

#include <iterator>

#include "mystyle/catalog/colour_family.h"
#include "mystyle/core/error.h"

namespace mystyle::catalog {

std::string colour_label(const Item& item) {
  return colour_label(item.colour_family, item.colour_name, item.colour);
}

namespace {

std::filesystem::path database_path(const std::filesystem::path& workspace) {
  std::error_code ec;
  std::filesystem::create_directories(workspace, ec);
  if (ec) {
    throw Error(fmt::format("{}: cannot create workspace folder: {}", workspace.string(), ec.message()),
                ErrorKind::kIo);
  }
  return workspace / Catalog::kFileName;
}

// Schema version 1. Later versions append a step to kMigrations; never edit a released step.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE items (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  source_id   TEXT NOT NULL,
  name        TEXT NOT NULL DEFAULT '',
  category    TEXT NOT NULL DEFAULT '',
  family      TEXT NOT NULL DEFAULT '',
  type        TEXT NOT NULL DEFAULT '',
  colour      TEXT NOT NULL DEFAULT '',
  slot        TEXT NOT NULL,
  shop_url    TEXT NOT NULL DEFAULT '',
  image_path  TEXT,
  UNIQUE (source, source_id)
);
CREATE INDEX items_by_category ON items (category);
CREATE TABLE outfits (
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL,
  source_id   TEXT NOT NULL,
  photo_path  TEXT,
  UNIQUE (source, source_id)
);
CREATE TABLE outfit_items (
  outfit_id   INTEGER NOT NULL REFERENCES outfits (id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,
  item_id     INTEGER NOT NULL REFERENCES items (id),
  slot        TEXT NOT NULL,
  PRIMARY KEY (outfit_id, position)
) WITHOUT ROWID;
CREATE INDEX outfit_items_by_item ON outfit_items (item_id, outfit_id);
)sql";

// Version 2: ids are never given again. SQLite gives a new row the largest id + 1, so deleting the
// newest item (the admin API's DELETE) would hand its id to the next one, and whatever still knew
// the old id (a browser's cached photo, a client's link) would show the wrong item. Deletions now
// raise a watermark, and inserts (next_id_sql) take the larger of it and the largest id, plus one.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE id_watermarks (
  name  TEXT PRIMARY KEY,
  last  INTEGER NOT NULL
);
CREATE TRIGGER items_watermark AFTER DELETE ON items BEGIN
  INSERT INTO id_watermarks (name, last) VALUES ('items', old.id)
    ON CONFLICT (name) DO UPDATE SET last = max(last, excluded.last);
END;
CREATE TRIGGER outfits_watermark AFTER DELETE ON outfits BEGIN
  INSERT INTO id_watermarks (name, last) VALUES ('outfits', old.id)
    ON CONFLICT (name) DO UPDATE SET last = max(last, excluded.last);
END;
)sql";

// Version 3: an item's colour as a shopper sees it, beside the source's own label (issue 24). MANGO's
// colour groups call black GREY and gold WHITE; the shop's colour name and the family read from it
// (colour_family.h) are kept apart from `colour`. Existing rows are filled by fill_colour_families.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE items ADD COLUMN colour_name TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN colour_family TEXT NOT NULL DEFAULT '';
)sql";

// Version 4: items by photo. Deleting an item asks whether another item uses its photo (to keep or
// remove the file); without an index that was a scan of every item, 100 ms of each delete at a million
// items (issue 25).
constexpr const char* kSchemaV4 = R"sql(
CREATE INDEX items_by_image_path ON items (image_path);
)sql";

constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4};
static_assert(std::size(kMigrations) == Catalog::kSchemaVersion);

Slot slot_from_db(const std::string& name) { return parse_slot(name).value_or(Slot::kOther); }

constexpr const char* kItemColumns =
    "id, source, source_id, name, category, family, type, colour, slot, shop_url, image_path, colour_name, "
    "colour_family";

Item read_item(const Statement& s) {
  Item item;
  item.id = s.column_int64(0);
  item.source = s.column_text(1);
  item.source_id = s.column_text(2);
  item.name = s.column_text(3);
  item.category = s.column_text(4);
  item.family = s.column_text(5);
  item.type = s.column_text(6);
  item.colour = s.column_text(7);
  item.slot = slot_from_db(s.column_text(8));
  item.shop_url = s.column_text(9);
  item.image_path = s.column_optional_text(10);
  item.colour_name = s.column_text(11);
  item.colour_family = s.column_text(12);
  return item;
}

/// The version 3 step for the rows written before it (colour_of_stored_item).
void fill_colour_families(Database& db) {
  auto rows = db.prepare("SELECT id, source, name, type, colour FROM items");
  auto update = db.prepare("UPDATE items SET colour_name = ?2, colour_family = ?3 WHERE id = ?1");
  while (rows.step()) {
    const ItemColour c =
        colour_of_stored_item(rows.column_text(1), rows.column_text(2), rows.column_text(3), rows.column_text(4));
    if (c.name.empty() && c.family.empty()) continue;
    update.bind(1, rows.column_int64(0)).bind(2, c.name).bind(3, c.family).run();
  }
}

// "WHERE ..." for an ItemQuery; parameters ?1 category, ?2 slot, ?3 source (NULL = any).
constexpr const char* kItemFilter =
    " WHERE (?1 IS NULL OR category = ?1) AND (?2 IS NULL OR slot = ?2) AND (?3 IS NULL OR source = ?3)";

void bind_filter(Statement& s, const ItemQuery& q) { s.bind(1, q.category).bind(2, q.slot).bind(3, q.source); }

}  // namespace

std::string next_id_sql(std::string_view table) {
  return fmt::format("(SELECT max(coalesce((SELECT max(id) FROM {0}), 0), "
                     "coalesce((SELECT last FROM id_watermarks WHERE name = '{0}'), 0)) + 1)",
                     table);
}

Catalog::Catalog(const std::filesystem::path& workspace) : db_(database_path(workspace)) { migrate(); }

int Catalog::schema_version() {
  auto s = db_.prepare("PRAGMA user_version");
  s.step();
  return static_cast<int>(s.column_int64(0));
}

void Catalog::migrate() {
  int version = schema_version();
  if (version > kSchemaVersion) {
    throw Error(fmt::format("{}: schema version {} is newer than this mystyle understands ({}); upgrade mystyle",
                            db_.path().string(), version, kSchemaVersion),
                ErrorKind::kCorrupt);
  }
  for (; version < kSchemaVersion; ++version) {
    Transaction tx(db_);
    db_.exec(kMigrations[version]);
    if (version + 1 == 3) fill_colour_families(db_);
    db_.exec(fmt::format("PRAGMA user_version = {}", version + 1));
    tx.commit();
  }
}

CatalogStats Catalog::stats() {
  CatalogStats st;
  auto count = [&](const char* sql) {
    auto s = db_.prepare(sql);
    s.step();
    return s.column_int64(0);
  };
  st.items = count("SELECT count(*) FROM items");
  st.outfits = count("SELECT count(*) FROM outfits");
  st.memberships = count("SELECT count(*) FROM outfit_items");
  st.items_with_image = count("SELECT count(*) FROM items WHERE image_path IS NOT NULL");
  auto per_slot = db_.prepare("SELECT slot, count(*) FROM outfit_items GROUP BY slot");
  while (per_slot.step()) st.memberships_per_slot[per_slot.column_text(0)] = per_slot.column_int64(1);
  auto per_cat = db_.prepare("SELECT category, count(*) FROM items GROUP BY category");
  while (per_cat.step()) st.items_per_category[per_cat.column_text(0)] = per_cat.column_int64(1);
  return st;
}

std::optional<Item> Catalog::find_item(std::int64_t id) {
  auto s = db_.prepare(fmt::format("SELECT {} FROM items WHERE id = ?1", kItemColumns));
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_item(s);
}

std::optional<Item> Catalog::find_item_by_source(const std::string& source, const std::string& source_id) {
  auto s = db_.prepare(fmt::format("SELECT {} FROM items WHERE source = ?1 AND source_id = ?2", kItemColumns));
  s.bind(1, source).bind(2, source_id);
  if (!s.step()) return std::nullopt;
  return read_item(s);
}

std::vector<Item> Catalog::list_items(const ItemQuery& query) {
  auto s = db_.prepare(fmt::format("SELECT {} FROM items{} ORDER BY id LIMIT ?4 OFFSET ?5", kItemColumns, kItemFilter));
  bind_filter(s, query);
  s.bind(4, query.limit).bind(5, query.offset);
  std::vector<Item> items;
  while (s.step()) items.push_back(read_item(s));
  return items;
}

std::int64_t Catalog::count_items(const ItemQuery& query) {
  auto s = db_.prepare(fmt::format("SELECT count(*) FROM items{}", kItemFilter));
  bind_filter(s, query);
  s.step();
  return s.column_int64(0);
}

std::vector<Item> Catalog::all_items() {
  ItemQuery all;
  all.limit = -1;  // SQLite: a negative LIMIT means no limit
  return list_items(all);
}

std::optional<Outfit> Catalog::find_outfit(std::int64_t id) {
  auto s = db_.prepare("SELECT id, source, source_id, photo_path FROM outfits WHERE id = ?1");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  Outfit outfit;
  outfit.id = s.column_int64(0);
  outfit.source = s.column_text(1);
  outfit.source_id = s.column_text(2);
  outfit.photo_path = s.column_optional_text(3);
  auto members = db_.prepare("SELECT item_id, slot FROM outfit_items WHERE outfit_id = ?1 ORDER BY position");
  members.bind(1, id);
  while (members.step()) outfit.members.push_back({members.column_int64(0), slot_from_db(members.column_text(1))});
  return outfit;
}

std::vector<std::int64_t> Catalog::outfits_with_item(std::int64_t item_id) {
  auto s = db_.prepare("SELECT DISTINCT outfit_id FROM outfit_items WHERE item_id = ?1 ORDER BY outfit_id");
  s.bind(1, item_id);
  std::vector<std::int64_t> ids;
  while (s.step()) ids.push_back(s.column_int64(0));
  return ids;
}

Item Catalog::add_item(const Item& item) {
  if (item.source.empty() || item.source_id.empty())
    throw Error("an item needs a source and a source_id", ErrorKind::kInvalidInput);
  Transaction tx(db_);
  if (const auto existing = find_item_by_source(item.source, item.source_id)) {
    throw Error(fmt::format("item {}/{} is already in the catalog as item {}", item.source, item.source_id,
                            existing->id),
                ErrorKind::kInvalidInput);
  }
  auto s = db_.prepare(
      fmt::format("INSERT INTO items (id, source, source_id, name, category, family, type, colour, slot, "
                  "shop_url, image_path, colour_name, colour_family) VALUES ({}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                  "?9, ?10, ?11, ?12)",
                  next_id_sql("items")));
  s.bind(1, item.source).bind(2, item.source_id).bind(3, item.name).bind(4, item.category).bind(5, item.family);
  s.bind(6, item.type).bind(7, item.colour).bind(8, std::string(slot_name(item.slot))).bind(9, item.shop_url);
  s.bind(10, item.image_path).bind(11, item.colour_name).bind(12, item.colour_family);
  s.run();
  Item added = item;
  added.id = db_.last_insert_id();
  tx.commit();
  return added;
}

bool Catalog::delete_item(std::int64_t id) {
  Transaction tx(db_);
  if (!find_item(id)) return false;
  const std::vector<std::int64_t> outfits = outfits_with_item(id);
  auto members = db_.prepare("DELETE FROM outfit_items WHERE item_id = ?1");
  members.bind(1, id).run();
  for (const std::int64_t outfit : outfits) {
    auto left = db_.prepare("SELECT count(*) FROM outfit_items WHERE outfit_id = ?1");
    left.bind(1, outfit);
    left.step();
    if (left.column_int64(0) < 2) {
      auto drop = db_.prepare("DELETE FROM outfits WHERE id = ?1");  // members cascade
      drop.bind(1, outfit).run();
    }
  }
  auto s = db_.prepare("DELETE FROM items WHERE id = ?1");
  s.bind(1, id).run();
  tx.commit();
  return true;
}

Outfit Catalog::add_outfit(const Outfit& outfit) {
  if (outfit.source.empty() || outfit.source_id.empty())
    throw Error("an outfit needs a source and a source_id", ErrorKind::kInvalidInput);
  if (outfit.members.size() < 2)
    throw Error(fmt::format("an outfit needs at least two pieces, not {}", outfit.members.size()),
                ErrorKind::kInvalidInput);
  Transaction tx(db_);
  for (std::size_t i = 0; i < outfit.members.size(); ++i) {
    const std::int64_t item = outfit.members[i].item_id;
    if (!find_item(item)) throw Error(fmt::format("members[{}]: no item {}", i, item), ErrorKind::kNotFound);
    for (std::size_t j = 0; j < i; ++j) {
      if (outfit.members[j].item_id == item)
        throw Error(fmt::format("members[{}]: item {} is already members[{}]", i, item, j), ErrorKind::kInvalidInput);
    }
  }
  {
    auto taken = db_.prepare("SELECT id FROM outfits WHERE source = ?1 AND source_id = ?2");
    taken.bind(1, outfit.source).bind(2, outfit.source_id);
    if (taken.step()) {
      throw Error(fmt::format("outfit {}/{} is already in the catalog as outfit {}", outfit.source,
                              outfit.source_id, taken.column_int64(0)),
                  ErrorKind::kInvalidInput);
    }
  }
  auto s = db_.prepare(fmt::format("INSERT INTO outfits (id, source, source_id, photo_path) VALUES ({}, ?1, ?2, ?3)",
                                   next_id_sql("outfits")));
  s.bind(1, outfit.source).bind(2, outfit.source_id).bind(3, outfit.photo_path);
  s.run();
  Outfit added = outfit;
  added.id = db_.last_insert_id();
  auto m = db_.prepare("INSERT INTO outfit_items (outfit_id, position, item_id, slot) VALUES (?1, ?2, ?3, ?4)");
  for (std::size_t i = 0; i < outfit.members.size(); ++i) {
    m.bind(1, added.id).bind(2, static_cast<std::int64_t>(i)).bind(3, outfit.members[i].item_id);
    m.bind(4, std::string(slot_name(outfit.members[i].slot)));
    m.run();
  }
  tx.commit();
  return added;
}

}  // namespace mystyle::catalog
