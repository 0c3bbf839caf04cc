#include "mystyle/pgsync/pg_catalog.h"

#include <endian.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/probe.h"
#include "pg.h"

namespace mystyle::pgsync {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Every writer's transaction holds this lock until it commits: the change log's order is then the
// commit order, so "everything after seq N" never misses a change committed late.
constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(726270001)";
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

constexpr const char* kPgMigrations[] = {kPgSchemaV1};
static_assert(std::size(kPgMigrations) == kPgSchemaVersion);

int migrate(Connection& db) {
  Transaction tx(db);
  db.exec(kMigrationLock);
  db.exec_script("CREATE TABLE IF NOT EXISTS mystyle_schema (version integer NOT NULL)");
  const Result r = db.exec("SELECT coalesce(max(version), 0) FROM mystyle_schema");
  int version = static_cast<int>(r.int64(0, 0));
  if (version > kPgSchemaVersion) {
    throw Error(fmt::format("PostgreSQL at {}: catalog schema version {} is newer than this mystyle understands ({}); "
                            "upgrade mystyle",
                            db.where(), version, kPgSchemaVersion),
                ErrorKind::kCorrupt);
  }
  for (; version < kPgSchemaVersion; ++version) db.exec_script(kPgMigrations[version]);
  db.exec("DELETE FROM mystyle_schema");
  db.exec("INSERT INTO mystyle_schema (version) VALUES ($1)", {kPgSchemaVersion});
  tx.commit();
  return version;
}

std::string vector_bytes(std::span<const float> row) {
  return {reinterpret_cast<const char*>(row.data()), row.size() * sizeof(float)};
}

std::int64_t binary_int(const Result& r, int row, int col, std::size_t width) {
  const std::string v = r.text(row, col);
  if (v.size() != width) throw Error("PostgreSQL: unexpected binary integer width", ErrorKind::kCorrupt);
  if (width == 8) {
    std::uint64_t x;
    std::memcpy(&x, v.data(), 8);
    return static_cast<std::int64_t>(be64toh(x));
  }
  std::uint32_t x;
  std::memcpy(&x, v.data(), 4);
  return static_cast<std::int32_t>(be32toh(x));
}

std::string format_of(std::string_view bytes, const std::string& name) {
  return image::probe_image({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, name).format;
}

std::string photo_hash(std::string_view bytes) { return fmt::format("{:016x}", fnv1a64(bytes)); }

std::filesystem::path local_photo(const engine::Workspace& ws, const std::string& hash, const std::string& format) {
  return ws.photos_dir() / fmt::format("{}.{}", hash, format == "jpeg" ? "jpg" : format);
}

/// Records a change and signals it; inside the writer's transaction (delivered at commit).
void log_change(Connection& db, const char* entity, std::int64_t id, const char* op) {
  db.exec("INSERT INTO changes (entity, entity_id, op) VALUES ($1, $2, $3)", {entity, id, op});
}
void notify(Connection& db) { db.exec(fmt::format("SELECT pg_notify('{}', '')", kChangesChannel)); }

constexpr const char* kItemSelect =
    "SELECT i.id, i.source, i.source_id, i.name, i.category, i.family, i.type, i.colour, i.slot, i.shop_url, "
    "i.photo, p.format FROM items i LEFT JOIN photos p ON p.hash = i.photo";

struct RemoteItem {
  catalog::Item item;
  std::optional<std::string> photo, format;
};

std::vector<RemoteItem> read_items(const Result& r) {
  std::vector<RemoteItem> out;
  for (int i = 0; i < r.rows(); ++i) {
    RemoteItem x;
    x.item.id = r.int64(i, 0);
    x.item.source = r.text(i, 1);
    x.item.source_id = r.text(i, 2);
    x.item.name = r.text(i, 3);
    x.item.category = r.text(i, 4);
    x.item.family = r.text(i, 5);
    x.item.type = r.text(i, 6);
    x.item.colour = r.text(i, 7);
    x.item.slot = catalog::parse_slot(r.text(i, 8)).value_or(catalog::Slot::kOther);
    x.item.shop_url = r.text(i, 9);
    x.photo = r.optional_text(i, 10);
    x.format = r.optional_text(i, 11);
    out.push_back(std::move(x));
  }
  return out;
}

struct RemoteOutfit {
  catalog::Outfit outfit;
  std::optional<std::string> photo, format;
};

std::vector<RemoteOutfit> read_outfits(Connection& db, const std::string& where, const std::vector<Param>& params) {
  const Result r = db.exec(
      "SELECT o.id, o.source, o.source_id, o.photo, p.format FROM outfits o LEFT JOIN photos p ON p.hash = o.photo " +
          where + " ORDER BY o.id",
      params);
  std::vector<RemoteOutfit> out;
  std::unordered_map<std::int64_t, std::size_t> at;
  for (int i = 0; i < r.rows(); ++i) {
    RemoteOutfit o;
    o.outfit.id = r.int64(i, 0);
    o.outfit.source = r.text(i, 1);
    o.outfit.source_id = r.text(i, 2);
    o.photo = r.optional_text(i, 3);
    o.format = r.optional_text(i, 4);
    at[o.outfit.id] = out.size();
    out.push_back(std::move(o));
  }
  const Result m = db.exec(
      "SELECT m.outfit_id, m.item_id, m.slot FROM outfit_items m JOIN outfits o ON o.id = m.outfit_id " + where +
          " ORDER BY m.outfit_id, m.position",
      params);
  for (int i = 0; i < m.rows(); ++i) {
    auto it = at.find(m.int64(i, 0));
    if (it == at.end()) continue;
    out[it->second].outfit.members.push_back(
        {m.int64(i, 1), catalog::parse_slot(m.text(i, 2)).value_or(catalog::Slot::kOther)});
  }
  return out;
}

}  // namespace

bool is_postgres_url(std::string_view catalog) {
  return catalog.starts_with("postgresql://") || catalog.starts_with("postgres://");
}

int migrate_database(const std::string& url) {
  Connection db(url);
  migrate(db);
  return kPgSchemaVersion;
}

PushReport push_workspace(const engine::Workspace& workspace, const std::string& url, const std::string& model,
                          nn::LatentPooling pooling, bool replace) {
  const auto t0 = Clock::now();
  Connection db(url);
  migrate(db);
  const std::string pooling_text = engine::pooling_name(pooling);
  const engine::Embeddings embeddings = engine::load_embeddings(workspace.embeddings_file(model, pooling_text));
  std::optional<engine::Embeddings> views;
  if (std::filesystem::exists(engine::views_file(workspace, model, pooling))) {
    views = engine::load_current_views(workspace, model, embeddings);
  }
  catalog::Catalog cat(workspace.root());
  const auto items = cat.all_items();

  PushReport report;
  Transaction tx(db);
  db.exec(kWriterLock);
  const std::int64_t existing = db.exec("SELECT count(*) FROM items").int64(0, 0);
  if (existing > 0 && !replace) {
    throw Error(fmt::format("PostgreSQL at {} already holds a catalog ({} items); push --replace replaces it",
                            db.where(), existing),
                ErrorKind::kInvalidInput);
  }
  db.exec_script("DELETE FROM embeddings; DELETE FROM embedding_sets; DELETE FROM outfit_items; DELETE FROM outfits; "
                 "DELETE FROM items; DELETE FROM photos");
  std::set<std::string> photos_done;
  auto store_photo = [&](const std::optional<std::string>& path) -> std::optional<std::string> {
    if (!path || !std::filesystem::exists(*path)) return std::nullopt;
    const std::string bytes = read_file_bytes(*path, std::size_t{64} << 20);
    const std::string hash = photo_hash(bytes);
    if (photos_done.insert(hash).second) {
      db.exec("INSERT INTO photos (hash, format, bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
              {hash, format_of(bytes, *path), Param::bytes(bytes)});
      ++report.photos;
    }
    return hash;
  };
  for (const auto& item : items) {
    db.exec("INSERT INTO items (id, source, source_id, name, category, family, type, colour, slot, shop_url, photo) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            {item.id, item.source, item.source_id, item.name, item.category, item.family, item.type, item.colour,
             std::string(catalog::slot_name(item.slot)), item.shop_url, store_photo(item.image_path)});
    ++report.items;
  }
  auto outfit_ids = cat.db().prepare("SELECT id FROM outfits ORDER BY id");
  while (outfit_ids.step()) {
    const auto outfit = cat.find_outfit(outfit_ids.column_int64(0));
    db.exec("INSERT INTO outfits (id, source, source_id, photo) VALUES ($1, $2, $3, $4)",
            {outfit->id, outfit->source, outfit->source_id, store_photo(outfit->photo_path)});
    for (std::size_t p = 0; p < outfit->members.size(); ++p) {
      db.exec("INSERT INTO outfit_items (outfit_id, position, item_id, slot) VALUES ($1, $2, $3, $4)",
              {outfit->id, static_cast<std::int64_t>(p), outfit->members[p].item_id,
               std::string(catalog::slot_name(outfit->members[p].slot))});
    }
    ++report.outfits;
  }
  db.exec("INSERT INTO embedding_sets (model, pooling, model_hash, dim) VALUES ($1, $2, $3, $4)",
          {model, pooling_text, static_cast<std::int64_t>(embeddings.model_hash), embeddings.dim});
  std::set<std::int64_t> known;
  for (const auto& item : items) known.insert(item.id);
  auto put = [&](std::int64_t item, int view, std::span<const float> row) {
    if (!known.contains(item)) return;  // a row left by an item since deleted
    db.exec("INSERT INTO embeddings (model, pooling, item_id, view, vector) VALUES ($1, $2, $3, $4, $5)",
            {model, pooling_text, item, view, Param::bytes(vector_bytes(row))});
    ++report.vectors;
  };
  for (std::size_t i = 0; i < embeddings.size(); ++i) put(embeddings.ids[i], 0, embeddings.row(i));
  if (views) {
    for (std::size_t i = 0; i < views->size(); ++i) {
      put(engine::item_of_view(views->ids[i]), static_cast<int>(views->ids[i] % engine::kViewStride), views->row(i));
    }
  }
  db.exec_script("SELECT setval('item_ids', greatest((SELECT max(id) FROM items), 1)); "
                 "SELECT setval('outfit_ids', greatest((SELECT max(id) FROM outfits), 1))");
  log_change(db, "all", 0, "upsert");
  notify(db);
  tx.commit();
  report.seconds = seconds_since(t0);
  return report;
}

// ---------------------------------------------------------------------------------------------
// Mirror

struct Mirror::State {
  std::int64_t last_seq = -1;  ///< -1: no full sync yet
  std::unique_ptr<Connection> db;
};

Mirror::Mirror(std::string url, engine::Workspace workspace, std::string model, nn::LatentPooling pooling)
    : url_(std::move(url)),
      workspace_(std::move(workspace)),
      model_(std::move(model)),
      pooling_(pooling),
      state_(std::make_unique<State>()) {}

Mirror::~Mirror() = default;

namespace {

/// Writes the photo of `hash` into the workspace unless it is there; returns its path.
std::filesystem::path ensure_photo(Connection& db, const engine::Workspace& ws, const std::string& hash,
                                   const std::string& format, std::int64_t* fetched) {
  const auto path = local_photo(ws, hash, format);
  if (std::filesystem::exists(path)) return path;
  const Result r = db.exec("SELECT bytes FROM photos WHERE hash = $1", {hash}, /*binary_result=*/true);
  if (r.rows() != 1) throw Error(fmt::format("PostgreSQL at {}: photo {} is missing", db.where(), hash), ErrorKind::kCorrupt);
  write_file_atomic(path, r.text(0, 0));
  if (fetched) ++*fetched;
  return path;
}

void upsert_local_item(catalog::Database& local, const catalog::Item& item) {
  auto s = local.prepare(
      "INSERT INTO items (id, source, source_id, name, category, family, type, colour, slot, shop_url, image_path) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (id) DO UPDATE SET source = ?2, "
      "source_id = ?3, name = ?4, category = ?5, family = ?6, type = ?7, colour = ?8, slot = ?9, shop_url = ?10, "
      "image_path = ?11");
  s.bind(1, item.id).bind(2, item.source).bind(3, item.source_id).bind(4, item.name).bind(5, item.category);
  s.bind(6, item.family).bind(7, item.type).bind(8, item.colour).bind(9, std::string(catalog::slot_name(item.slot)));
  s.bind(10, item.shop_url).bind(11, item.image_path);
  s.run();
}

void replace_local_outfit(catalog::Database& local, const catalog::Outfit& outfit) {
  auto s = local.prepare(
      "INSERT INTO outfits (id, source, source_id, photo_path) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE "
      "SET source = ?2, source_id = ?3, photo_path = ?4");
  s.bind(1, outfit.id).bind(2, outfit.source).bind(3, outfit.source_id).bind(4, outfit.photo_path);
  s.run();
  auto clear = local.prepare("DELETE FROM outfit_items WHERE outfit_id = ?1");
  clear.bind(1, outfit.id).run();
  auto m = local.prepare("INSERT INTO outfit_items (outfit_id, position, item_id, slot) VALUES (?1, ?2, ?3, ?4)");
  for (std::size_t p = 0; p < outfit.members.size(); ++p) {
    m.bind(1, outfit.id).bind(2, static_cast<std::int64_t>(p)).bind(3, outfit.members[p].item_id);
    m.bind(4, std::string(catalog::slot_name(outfit.members[p].slot)));
    m.run();
  }
}

/// The embedding set of (model, pooling): its hash and dim; throws naming `mystyle catalog push`.
std::pair<std::uint64_t, int> embedding_set(Connection& db, const std::string& model, const std::string& pooling) {
  const Result r = db.exec("SELECT model_hash, dim FROM embedding_sets WHERE model = $1 AND pooling = $2", {model, pooling});
  if (r.rows() != 1) {
    throw Error(fmt::format("PostgreSQL at {} has no {} embeddings of model '{}'; run `mystyle catalog push` "
                            "from a workspace that has them",
                            db.where(), pooling, model),
                ErrorKind::kNotFound);
  }
  return {static_cast<std::uint64_t>(r.int64(0, 0)), static_cast<int>(r.int64(0, 1))};
}

void check_model(const engine::Workspace& ws, const std::string& model, std::uint64_t remote_hash, const std::string& where) {
  const auto local = engine::load_embedding_model(ws, model);
  if (local.source_hash != remote_hash) {
    throw Error(fmt::format("{}: this model file is not the one the shared catalog's embeddings were made with "
                            "(model hash {:016x} here, {:016x} at {}); give every server the same models/{}.model",
                            ws.model_file(model).string(), local.source_hash, remote_hash, where, model),
                ErrorKind::kCorrupt);
  }
}

}  // namespace

SyncReport Mirror::full_sync() {
  std::lock_guard lock(mutex_);
  const auto t0 = Clock::now();
  if (!state_->db) state_->db = std::make_unique<Connection>(url_);
  Connection& db = *state_->db;
  migrate(db);
  const std::string pooling_text = engine::pooling_name(pooling_);
  SyncReport report;
  report.full = true;

  // One consistent view of the database: the rows and the change log's end agree.
  Transaction tx(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  const std::int64_t seq = db.exec("SELECT coalesce(max(seq), 0) FROM changes").int64(0, 0);
  const auto [model_hash, dim] = embedding_set(db, model_, pooling_text);
  check_model(workspace_, model_, model_hash, db.where());
  auto items = read_items(db.exec(std::string(kItemSelect) + " ORDER BY i.id"));
  auto outfits = read_outfits(db, "", {});
  for (auto& x : items) {
    if (x.photo) x.item.image_path = ensure_photo(db, workspace_, *x.photo, *x.format, &report.photos_fetched).string();
  }
  for (auto& o : outfits) {
    if (o.photo) o.outfit.photo_path = ensure_photo(db, workspace_, *o.photo, *o.format, &report.photos_fetched).string();
  }
  engine::Embeddings main, views;
  for (auto* e : {&main, &views}) {
    e->dim = dim;
    e->model_hash = model_hash;
    e->pooling = pooling_;
  }
  const Result v = db.exec(
      "SELECT item_id, view, vector FROM embeddings WHERE model = $1 AND pooling = $2 ORDER BY item_id, view",
      {model_, pooling_text}, /*binary_result=*/true);
  bool has_views = false;
  for (int i = 0; i < v.rows(); ++i) {
    const std::int64_t item = binary_int(v, i, 0, 8);
    const int view = static_cast<int>(binary_int(v, i, 1, 4));
    const std::string bytes = v.text(i, 2);
    if (bytes.size() != static_cast<std::size_t>(dim) * sizeof(float))
      throw Error(fmt::format("PostgreSQL at {}: item {}'s vector has {} bytes, not {}", db.where(), item, bytes.size(),
                              dim * 4),
                  ErrorKind::kCorrupt);
    engine::Embeddings& e = view == 0 ? main : views;
    has_views = has_views || view != 0;
    e.ids.push_back(view == 0 ? item : engine::view_id(item, view));
    const auto* f = reinterpret_cast<const float*>(bytes.data());
    e.vectors.insert(e.vectors.end(), f, f + dim);
  }
  tx.commit();

  {
    catalog::Catalog cat(workspace_.root());
    catalog::Transaction local(cat.db());
    cat.db().exec("DELETE FROM outfit_items; DELETE FROM outfits; DELETE FROM items");
    for (const auto& x : items) upsert_local_item(cat.db(), x.item);
    for (const auto& o : outfits) replace_local_outfit(cat.db(), o.outfit);
    local.commit();
  }
  {
    const FileLock files(workspace_.write_lock_file());
    engine::save_embeddings(workspace_.embeddings_file(model_, pooling_text), main);
    const auto views_path = engine::views_file(workspace_, model_, pooling_);
    if (has_views) {
      engine::save_embeddings(views_path, views);
    } else {
      std::filesystem::remove(views_path);
    }
  }
  state_->last_seq = seq;
  report.items = static_cast<std::int64_t>(items.size());
  report.outfits = static_cast<std::int64_t>(outfits.size());
  report.vectors = static_cast<std::int64_t>(main.size() + views.size());
  report.seconds = seconds_since(t0);
  return report;
}

SyncReport Mirror::pull() {
  {
    std::unique_lock lock(mutex_);
    if (state_->last_seq < 0) {
      lock.unlock();
      return full_sync();
    }
  }
  std::unique_lock lock(mutex_);
  const auto t0 = Clock::now();
  if (!state_->db) state_->db = std::make_unique<Connection>(url_);
  Connection& db = *state_->db;
  const std::string pooling_text = engine::pooling_name(pooling_);
  SyncReport report;

  Transaction tx(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  const Result changes =
      db.exec("SELECT seq, entity, entity_id FROM changes WHERE seq > $1 ORDER BY seq", {state_->last_seq});
  if (changes.rows() == 0) return report;
  std::set<std::int64_t> item_ids, outfit_ids;
  std::int64_t seq = state_->last_seq;
  bool everything = false;
  for (int i = 0; i < changes.rows(); ++i) {
    seq = std::max(seq, changes.int64(i, 0));
    const std::string entity = changes.text(i, 1);
    if (entity == "all") everything = true;
    (entity == "item" ? item_ids : outfit_ids).insert(changes.int64(i, 2));
  }
  if (everything) {
    tx.commit();
    lock.unlock();
    auto full = full_sync();
    full.changes = changes.rows();
    return full;
  }
  report.changes = changes.rows();
  const auto [model_hash, dim] = embedding_set(db, model_, pooling_text);
  auto id_array = [](const std::set<std::int64_t>& ids) {
    std::string out = "{";
    for (const auto id : ids) {
      if (out.size() > 1) out += ',';
      out += std::to_string(id);
    }
    return out + "}";
  };
  auto items = read_items(db.exec(std::string(kItemSelect) + " WHERE i.id = ANY($1::bigint[])", {id_array(item_ids)}));
  auto outfits = read_outfits(db, "WHERE o.id = ANY($1::bigint[])", {id_array(outfit_ids)});
  for (auto& x : items) {
    if (x.photo) x.item.image_path = ensure_photo(db, workspace_, *x.photo, *x.format, &report.photos_fetched).string();
  }
  for (auto& o : outfits) {
    if (o.photo) o.outfit.photo_path = ensure_photo(db, workspace_, *o.photo, *o.format, &report.photos_fetched).string();
  }
  const Result v = db.exec(
      "SELECT item_id, view, vector FROM embeddings WHERE model = $1 AND pooling = $2 AND item_id = ANY($3::bigint[])",
      {model_, pooling_text, id_array(item_ids)}, /*binary_result=*/true);
  tx.commit();

  std::set<std::int64_t> present_items, present_outfits;
  for (const auto& x : items) present_items.insert(x.item.id);
  for (const auto& o : outfits) present_outfits.insert(o.outfit.id);
  {
    catalog::Catalog cat(workspace_.root());
    catalog::Transaction local(cat.db());
    // Deleted items first (a re-added source id may follow), then items, then outfits.
    for (const auto id : item_ids) {
      if (present_items.contains(id)) continue;
      auto m = cat.db().prepare("DELETE FROM outfit_items WHERE item_id = ?1");
      m.bind(1, id).run();
      auto d = cat.db().prepare("DELETE FROM items WHERE id = ?1");
      d.bind(1, id).run();
    }
    for (const auto& x : items) upsert_local_item(cat.db(), x.item);
    for (const auto id : outfit_ids) {
      if (present_outfits.contains(id)) continue;
      auto d = cat.db().prepare("DELETE FROM outfits WHERE id = ?1");
      d.bind(1, id).run();
    }
    for (const auto& o : outfits) replace_local_outfit(cat.db(), o.outfit);
    local.commit();
  }
  {
    const FileLock files(workspace_.write_lock_file());
    const auto main_path = workspace_.embeddings_file(model_, pooling_text);
    const auto views_path = engine::views_file(workspace_, model_, pooling_);
    engine::Embeddings main = engine::load_embeddings(main_path);
    std::optional<engine::Embeddings> views;
    if (std::filesystem::exists(views_path)) views = engine::load_embeddings(views_path);
    auto touched = [&](std::int64_t id) { return item_ids.contains(id); };
    auto rebuild = [&](engine::Embeddings& e, bool is_views, const Result& rows) {
      std::map<std::int64_t, std::vector<float>> merged;
      for (std::size_t i = 0; i < e.size(); ++i) {
        const std::int64_t item = is_views ? engine::item_of_view(e.ids[i]) : e.ids[i];
        if (!touched(item)) merged[e.ids[i]].assign(e.row(i).begin(), e.row(i).end());
      }
      for (int i = 0; i < rows.rows(); ++i) {
        const std::int64_t item = binary_int(rows, i, 0, 8);
        const int view = static_cast<int>(binary_int(rows, i, 1, 4));
        if ((view != 0) != is_views) continue;
        const std::string bytes = rows.text(i, 2);
        if (bytes.size() != static_cast<std::size_t>(dim) * sizeof(float)) continue;
        const auto* f = reinterpret_cast<const float*>(bytes.data());
        merged[is_views ? engine::view_id(item, view) : item].assign(f, f + dim);
      }
      e.ids.clear();
      e.vectors.clear();
      e.dim = dim;
      e.model_hash = model_hash;
      for (auto& [id, row] : merged) {
        e.ids.push_back(id);
        e.vectors.insert(e.vectors.end(), row.begin(), row.end());
      }
    };
    rebuild(main, false, v);
    engine::save_embeddings(main_path, main);
    report.vectors = static_cast<std::int64_t>(main.size());
    if (views) {
      rebuild(*views, true, v);
      engine::save_embeddings(views_path, *views);
    }
  }
  state_->last_seq = seq;
  report.items = static_cast<std::int64_t>(items.size());
  report.outfits = static_cast<std::int64_t>(outfits.size());
  report.seconds = seconds_since(t0);
  return report;
}

void Mirror::follow(std::stop_token stop) {
  auto backoff = std::chrono::milliseconds(200);
  while (!stop.stop_requested()) {
    try {
      Connection listener(url_);
      listener.listen(kChangesChannel);
      pull();  // whatever was committed before LISTEN took effect
      backoff = std::chrono::milliseconds(200);
      auto last_pull = Clock::now();
      while (!stop.stop_requested()) {
        const int notes = listener.wait_for_notifications(std::chrono::milliseconds(250));
        // A notification means a commit; a pull every few seconds anyway covers a missed one.
        if (notes > 0 || Clock::now() - last_pull > std::chrono::seconds(5)) {
          const SyncReport r = pull();
          last_pull = Clock::now();
          if (r.changes > 0) {
            spdlog::info("shared catalog: {} change(s) applied ({} items, {} outfits{}) in {:.3f} s", r.changes,
                         r.items, r.outfits, r.full ? ", full sync" : "", r.seconds);
          }
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("shared catalog at {}: {}; retrying in {} ms", redact_url(url_), e.what(), backoff.count());
      {
        std::lock_guard lock(mutex_);
        state_->db.reset();  // reconnect on the next pull
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// PgWriter

struct PgWriter::State {
  std::unique_ptr<Connection> db;
  std::optional<engine::EmbeddingModel> model;
};

PgWriter::PgWriter(std::shared_ptr<Mirror> mirror, image::DecodeLimits limits)
    : mirror_(std::move(mirror)), limits_(limits), state_(std::make_unique<State>()) {}

PgWriter::~PgWriter() = default;

namespace {

Connection& connection(std::unique_ptr<Connection>& db, const std::string& url) {
  if (!db) db = std::make_unique<Connection>(url);
  return *db;
}

// Runs `work` on the writer's connection; a broken connection (kIo) is dropped, so the next edit
// opens a new one.
template <class Work>
decltype(auto) on_connection(std::unique_ptr<Connection>& db, const std::string& url, Work&& work) {
  try {
    return work(connection(db, url));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kIo) db.reset();
    throw;
  }
}

// Refuses a new `what` ("item" or "outfit", stored in `what`s) whose (source, source_id) the
// catalog already holds, naming the row that has it.
void refuse_taken(Connection& db, const std::string& what, const std::string& source, const std::string& source_id) {
  const Result taken =
      db.exec(fmt::format("SELECT id FROM {}s WHERE source = $1 AND source_id = $2", what), {source, source_id});
  if (taken.rows() > 0) {
    throw Error(fmt::format("{} {}/{} is already in the catalog as {} {}", what, source, source_id, what,
                            taken.text(0, 0)),
                ErrorKind::kInvalidInput);
  }
}

// One edit: a transaction holding the writers' lock around `body`, then the NOTIFY and the commit.
// A body that returns false rolls the transaction back.
template <class Body>
bool edit_transaction(Connection& db, Body&& body) {
  Transaction tx(db);
  db.exec(kWriterLock);
  if (!body()) return false;
  notify(db);
  tx.commit();
  return true;
}

}  // namespace

engine::AddedItem PgWriter::add_item(catalog::Item item, std::string_view photo_bytes) {
  std::lock_guard lock(mutex_);
  const auto t0 = Clock::now();
  const std::string name = fmt::format("photo of {}/{}", item.source, item.source_id);
  const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(photo_bytes.data()), photo_bytes.size());
  const image::ImageInfo info = image::probe_image(bytes, name);
  (void)image::decode_image(bytes, name, limits_);
  if (item.source.empty() || item.source_id.empty())
    throw Error("an item needs a source and a source_id", ErrorKind::kInvalidInput);
  const engine::Workspace& ws = mirror_->workspace();
  const std::string pooling = engine::pooling_name(mirror_->pooling());
  on_connection(state_->db, mirror_->url(), [&](Connection& db) {
    if (!state_->model) state_->model = engine::load_embedding_model(ws, mirror_->model());
    const auto [model_hash, dim] = embedding_set(db, mirror_->model(), pooling);
    if (model_hash != state_->model->source_hash) check_model(ws, mirror_->model(), model_hash, db.where());
    const bool views =
        db.exec("SELECT EXISTS (SELECT 1 FROM embeddings WHERE model = $1 AND pooling = $2 AND view > 0)",
                {mirror_->model(), pooling})
            .text(0, 0) == "t";
    // Encoded from the file the mirror will hold, exactly as `mystyle embed` would.
    const std::string hash = photo_hash(photo_bytes);
    const auto path = local_photo(ws, hash, info.format);
    if (!std::filesystem::exists(path)) write_file_atomic(path, photo_bytes);
    const engine::PhotoVectors vectors =
        engine::encode_catalog_photo(state_->model->model, mirror_->pooling(), path, views);

    edit_transaction(db, [&] {
      refuse_taken(db, "item", item.source, item.source_id);
      db.exec("INSERT INTO photos (hash, format, bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
              {hash, info.format, Param::bytes(std::string(photo_bytes))});
      const Result added = db.exec(
          "INSERT INTO items (source, source_id, name, category, family, type, colour, slot, shop_url, photo) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
          {item.source, item.source_id, item.name, item.category, item.family, item.type, item.colour,
           std::string(catalog::slot_name(item.slot)), item.shop_url, hash});
      item.id = added.int64(0, 0);
      auto put = [&](int view, std::span<const float> row) {
        db.exec("INSERT INTO embeddings (model, pooling, item_id, view, vector) VALUES ($1, $2, $3, $4, $5)",
                {mirror_->model(), pooling, item.id, view, Param::bytes(vector_bytes(row))});
      };
      put(0, vectors.item);
      for (int v = 1; views && v <= engine::kEditedViews; ++v) {
        put(v, std::span<const float>(vectors.views).subspan(static_cast<std::size_t>((v - 1) * dim),
                                                             static_cast<std::size_t>(dim)));
      }
      log_change(db, "item", item.id, "upsert");
      return true;
    });
    item.image_path = path.string();
  });
  mirror_->pull();
  engine::AddedItem out;
  out.item = item;
  out.embedded = true;
  out.seconds = seconds_since(t0);
  return out;
}

bool PgWriter::remove_item(std::int64_t id) {
  std::lock_guard lock(mutex_);
  const bool removed = on_connection(state_->db, mirror_->url(), [&](Connection& db) {
    return edit_transaction(db, [&] {
      const Result outfits = db.exec("SELECT DISTINCT outfit_id FROM outfit_items WHERE item_id = $1", {id});
      db.exec("DELETE FROM outfit_items WHERE item_id = $1", {id});
      for (int i = 0; i < outfits.rows(); ++i) {
        const std::int64_t outfit = outfits.int64(i, 0);
        // An outfit left with fewer than two pieces goes too (as in the SQLite catalog).
        db.exec(
            "DELETE FROM outfits WHERE id = $1 AND (SELECT count(*) FROM outfit_items WHERE outfit_id = $1) < 2",
            {outfit});
        log_change(db, "outfit", outfit, "upsert");
      }
      if (db.exec("DELETE FROM items WHERE id = $1 RETURNING id", {id}).rows() == 0) return false;  // rolls back
      log_change(db, "item", id, "delete");
      return true;
    });
  });
  if (!removed) return false;
  mirror_->pull();
  return true;
}

catalog::Outfit PgWriter::add_outfit(const catalog::Outfit& outfit) {
  std::lock_guard lock(mutex_);
  if (outfit.source.empty() || outfit.source_id.empty())
    throw Error("an outfit needs a source and a source_id", ErrorKind::kInvalidInput);
  if (outfit.members.size() < 2)
    throw Error(fmt::format("an outfit needs at least two pieces, not {}", outfit.members.size()), ErrorKind::kInvalidInput);
  catalog::Outfit added = outfit;
  on_connection(state_->db, mirror_->url(), [&](Connection& db) {
    edit_transaction(db, [&] {
      for (std::size_t i = 0; i < outfit.members.size(); ++i) {
        const std::int64_t item = outfit.members[i].item_id;
        if (db.exec("SELECT 1 FROM items WHERE id = $1", {item}).rows() == 0)
          throw Error(fmt::format("members[{}]: no item {}", i, item), ErrorKind::kNotFound);
        for (std::size_t j = 0; j < i; ++j) {
          if (outfit.members[j].item_id == item)
            throw Error(fmt::format("members[{}]: item {} is already members[{}]", i, item, j),
                        ErrorKind::kInvalidInput);
        }
      }
      refuse_taken(db, "outfit", outfit.source, outfit.source_id);
      added.id = db.exec("INSERT INTO outfits (source, source_id) VALUES ($1, $2) RETURNING id",
                         {outfit.source, outfit.source_id})
                     .int64(0, 0);
      for (std::size_t p = 0; p < outfit.members.size(); ++p) {
        db.exec("INSERT INTO outfit_items (outfit_id, position, item_id, slot) VALUES ($1, $2, $3, $4)",
                {added.id, static_cast<std::int64_t>(p), outfit.members[p].item_id,
                 std::string(catalog::slot_name(outfit.members[p].slot))});
      }
      log_change(db, "outfit", added.id, "upsert");
      return true;
    });
  });
  mirror_->pull();
  return added;
}

}  // namespace mystyle::pgsync
