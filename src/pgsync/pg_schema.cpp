// The database's schema and its migration, and the conventions its rows follow (photos by hash,
// vectors as bytes, the change log, the embedding sets), shared by push, mirror and writer.
#include <fmt/format.h>

#include <iterator>

#include "mystyle/catalog/colour_family.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/pgsync/pg_catalog.h"
#include "pg_internal.h"

namespace mystyle::pgsync {
namespace {

constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(726270002)";

constexpr const char* kPgSchemaV1 = R"sql(
CREATE TABLE photos (
  hash    text PRIMARY KEY,
  format  text NOT NULL,
  bytes   bytea NOT NULL
);
CREATE SEQUENCE item_ids;
CREATE SEQUENCE outfit_ids;
CREATE TABLE items (
  id         bigint PRIMARY KEY DEFAULT nextval('item_ids'),
  source     text NOT NULL,
  source_id  text NOT NULL,
  name       text NOT NULL DEFAULT '',
  category   text NOT NULL DEFAULT '',
  family     text NOT NULL DEFAULT '',
  type       text NOT NULL DEFAULT '',
  colour     text NOT NULL DEFAULT '',
  slot       text NOT NULL,
  shop_url   text NOT NULL DEFAULT '',
  photo      text REFERENCES photos (hash),
  UNIQUE (source, source_id)
);
CREATE INDEX items_by_category ON items (category);
CREATE TABLE outfits (
  id         bigint PRIMARY KEY DEFAULT nextval('outfit_ids'),
  source     text NOT NULL,
  source_id  text NOT NULL,
  photo      text REFERENCES photos (hash),
  UNIQUE (source, source_id)
);
CREATE TABLE outfit_items (
  outfit_id  bigint NOT NULL REFERENCES outfits (id) ON DELETE CASCADE,
  position   integer NOT NULL,
  item_id    bigint NOT NULL REFERENCES items (id),
  slot       text NOT NULL,
  PRIMARY KEY (outfit_id, position)
);
CREATE INDEX outfit_items_by_item ON outfit_items (item_id, outfit_id);
CREATE TABLE embedding_sets (
  model       text NOT NULL,
  pooling     text NOT NULL,
  model_hash  bigint NOT NULL,
  dim         integer NOT NULL,
  PRIMARY KEY (model, pooling)
);
CREATE TABLE embeddings (
  model    text NOT NULL,
  pooling  text NOT NULL,
  item_id  bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
  view     integer NOT NULL,
  vector   bytea NOT NULL,
  PRIMARY KEY (model, pooling, item_id, view),
  FOREIGN KEY (model, pooling) REFERENCES embedding_sets ON DELETE CASCADE
);
CREATE TABLE changes (
  seq        bigserial PRIMARY KEY,
  entity     text NOT NULL CHECK (entity IN ('item', 'outfit', 'all')),
  entity_id  bigint NOT NULL,
  op         text NOT NULL CHECK (op IN ('upsert', 'delete')),
  at         timestamptz NOT NULL DEFAULT now()
);
)sql";

// Version 2: the items' shop colour name and colour family beside `colour` (issue 24), as in the
// SQLite catalog's version 3; existing rows are filled by fill_colour_families.
constexpr const char* kPgSchemaV2 = R"sql(
ALTER TABLE items ADD COLUMN colour_name text NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN colour_family text NOT NULL DEFAULT '';
)sql";

// Version 3: the catalog's identity, a random id made once per database (issue 25): a mirror that
// recorded it and its position in `changes` resumes from there on its next start instead of copying
// the whole catalog again, and never resumes against another database.
constexpr const char* kPgSchemaV3 = R"sql(
CREATE TABLE catalog_identity (id text NOT NULL);
INSERT INTO catalog_identity (id) VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text));
)sql";

constexpr const char* kPgMigrations[] = {kPgSchemaV1, kPgSchemaV2, kPgSchemaV3};
static_assert(std::size(kPgMigrations) == kPgSchemaVersion);

/// Fills the colour name and family of the rows written before version 2, one UPDATE per distinct
/// (source, name, type, colour) rather than per item.
void fill_colour_families(Connection& db) {
  const Result r = db.exec("SELECT DISTINCT source, name, type, colour FROM items");
  for (int i = 0; i < r.rows(); ++i) {
    const catalog::ItemColour c =
        catalog::colour_of_stored_item(r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3));
    if (c.name.empty() && c.family.empty()) continue;
    db.exec(
        "UPDATE items SET colour_name = $1, colour_family = $2 WHERE source = $3 AND name = $4 AND type = $5 "
        "AND colour = $6",
        {c.name, c.family, r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3)});
  }
}

}  // namespace

int migrate(Connection& db) {
  Transaction tx(db);
  db.exec(kMigrationLock);
  db.exec_script("CREATE TABLE IF NOT EXISTS mystyle_schema (version integer NOT NULL)");
  const Result r = db.exec("SELECT coalesce(max(version), 0) FROM mystyle_schema");
  int version = static_cast<int>(r.int64(0, 0));
  if (version > kPgSchemaVersion) {
    throw Error(
        fmt::format(
            "PostgreSQL at {}: catalog schema version {} is newer than this mystyle understands ({}); "
            "upgrade mystyle",
            db.where(), version, kPgSchemaVersion),
        ErrorKind::kCorrupt);
  }
  const int found = version;
  for (; version < kPgSchemaVersion; ++version) db.exec_script(kPgMigrations[version]);
  if (found >= 1 && found < 2) fill_colour_families(db);
  db.exec("DELETE FROM mystyle_schema");
  db.exec("INSERT INTO mystyle_schema (version) VALUES ($1)", {kPgSchemaVersion});
  tx.commit();
  return version;
}

std::string vector_bytes(std::span<const float> row) {
  return {reinterpret_cast<const char*>(row.data()), row.size() * sizeof(float)};
}

std::string photo_hash(std::string_view bytes) {
  return fmt::format("{:016x}", fnv1a64(bytes));
}

std::filesystem::path local_photo(const engine::Workspace& ws, const std::string& hash,
                                  const std::string& format) {
  return ws.photos_dir() / fmt::format("{}.{}", hash, format == "jpeg" ? "jpg" : format);
}

void log_change(Connection& db, const char* entity, std::int64_t id, const char* op) {
  db.exec("INSERT INTO changes (entity, entity_id, op) VALUES ($1, $2, $3)", {entity, id, op});
}
void notify(Connection& db) {
  db.exec(fmt::format("SELECT pg_notify('{}', '')", kChangesChannel));
}

std::pair<std::uint64_t, int> embedding_set(Connection& db, const std::string& model,
                                            const std::string& pooling) {
  const Result r = db.exec("SELECT model_hash, dim FROM embedding_sets WHERE model = $1 AND pooling = $2",
                           {model, pooling});
  if (r.rows() != 1) {
    throw Error(fmt::format("PostgreSQL at {} has no {} embeddings of model '{}'; run `mystyle catalog push` "
                            "from a workspace that has them",
                            db.where(), pooling, model),
                ErrorKind::kNotFound);
  }
  return {static_cast<std::uint64_t>(r.int64(0, 0)), static_cast<int>(r.int64(0, 1))};
}

void check_model(const engine::Workspace& ws, const std::string& model, std::uint64_t remote_hash,
                 const std::string& where) {
  const auto local = engine::load_embedding_model(ws, model);
  if (local.source_hash != remote_hash) {
    throw Error(
        fmt::format("{}: this model file is not the one the shared catalog's embeddings were made with "
                    "(model hash {:016x} here, {:016x} at {}); give every server the same models/{}.model",
                    ws.model_file(model).string(), local.source_hash, remote_hash, where, model),
        ErrorKind::kCorrupt);
  }
}

bool is_postgres_url(std::string_view catalog) {
  return catalog.starts_with("postgresql://") || catalog.starts_with("postgres://");
}

int migrate_database(const std::string& url) {
  Connection db(url);
  migrate(db);
  return kPgSchemaVersion;
}

}  // namespace mystyle::pgsync
