#include "mystyle/catalog/catalog.h"

#include <fmt/format.h>

#include "mystyle/core/error.h"

namespace mystyle::catalog {
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

constexpr const char* kMigrations[] = {kSchemaV1};

Slot slot_from_db(const std::string& name) { return parse_slot(name).value_or(Slot::kOther); }

constexpr const char* kItemColumns =
    "id, source, source_id, name, category, family, type, colour, slot, shop_url, image_path";

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
  return item;
}

// "WHERE ..." for an ItemQuery; parameters ?1 category, ?2 slot, ?3 source (NULL = any).
constexpr const char* kItemFilter =
    " WHERE (?1 IS NULL OR category = ?1) AND (?2 IS NULL OR slot = ?2) AND (?3 IS NULL OR source = ?3)";

void bind_filter(Statement& s, const ItemQuery& q) { s.bind(1, q.category).bind(2, q.slot).bind(3, q.source); }

}  // namespace

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

}  // namespace mystyle::catalog
