// Mirror: a workspace kept as a copy of the database, by full syncs and by following its change log.
#include <endian.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/pgsync/pg_catalog.h"
#include "pg_internal.h"

namespace mystyle::pgsync {
namespace {

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

constexpr const char* kItemSelect =
    "SELECT i.id, i.source, i.source_id, i.name, i.category, i.family, i.type, i.colour, i.slot, i.shop_url, "
    "i.photo, p.format, i.colour_name, i.colour_family FROM items i LEFT JOIN photos p ON p.hash = i.photo";

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
    x.item.colour_name = r.text(i, 12);
    x.item.colour_family = r.text(i, 13);
    out.push_back(std::move(x));
  }
  return out;
}

struct RemoteOutfit {
  catalog::Outfit outfit;
  std::optional<std::string> photo, format;
};

std::vector<RemoteOutfit> read_outfits(Connection& db, const std::string& where,
                                       const std::vector<Param>& params) {
  const Result r = db.exec(
      "SELECT o.id, o.source, o.source_id, o.photo, p.format FROM outfits o LEFT JOIN photos p ON p.hash = "
      "o.photo " +
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
      "SELECT m.outfit_id, m.item_id, m.slot FROM outfit_items m JOIN outfits o ON o.id = m.outfit_id " +
          where + " ORDER BY m.outfit_id, m.position",
      params);
  for (int i = 0; i < m.rows(); ++i) {
    auto it = at.find(m.int64(i, 0));
    if (it == at.end()) continue;
    out[it->second].outfit.members.push_back(
        {m.int64(i, 1), catalog::parse_slot(m.text(i, 2)).value_or(catalog::Slot::kOther)});
  }
  return out;
}

/// Writes the photo of `hash` into the workspace unless it is there; returns its path.
std::filesystem::path ensure_photo(Connection& db, const engine::Workspace& ws, const std::string& hash,
                                   const std::string& format, std::int64_t* fetched) {
  const auto path = local_photo(ws, hash, format);
  if (std::filesystem::exists(path)) return path;
  const Result r = db.exec("SELECT bytes FROM photos WHERE hash = $1", {hash}, /*binary_result=*/true);
  if (r.rows() != 1)
    throw Error(fmt::format("PostgreSQL at {}: photo {} is missing", db.where(), hash), ErrorKind::kCorrupt);
  write_file_atomic(path, r.text(0, 0));
  if (fetched) ++*fetched;
  return path;
}

/// ensure_photo for every item and outfit that has a photo, pointing each at its local file.
void ensure_photos(Connection& db, const engine::Workspace& ws, std::vector<RemoteItem>& items,
                   std::vector<RemoteOutfit>& outfits, std::int64_t* fetched) {
  for (auto& x : items) {
    if (x.photo) x.item.image_path = ensure_photo(db, ws, *x.photo, *x.format, fetched).string();
  }
  for (auto& o : outfits) {
    if (o.photo) o.outfit.photo_path = ensure_photo(db, ws, *o.photo, *o.format, fetched).string();
  }
}

void upsert_local_item(catalog::Database& local, const catalog::Item& item) {
  auto s = local.prepare(
      "INSERT INTO items (id, source, source_id, name, category, family, type, colour, slot, shop_url, "
      "image_path, colour_name, colour_family) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (id) DO UPDATE SET source "
      "= ?2, "
      "source_id = ?3, name = ?4, category = ?5, family = ?6, type = ?7, colour = ?8, slot = ?9, shop_url = "
      "?10, "
      "image_path = ?11, colour_name = ?12, colour_family = ?13");
  s.bind(1, item.id).bind(2, item.source).bind(3, item.source_id).bind(4, item.name).bind(5, item.category);
  s.bind(6, item.family)
      .bind(7, item.type)
      .bind(8, item.colour)
      .bind(9, std::string(catalog::slot_name(item.slot)));
  s.bind(10, item.shop_url).bind(11, item.image_path).bind(12, item.colour_name).bind(13, item.colour_family);
  s.run();
}

void replace_local_outfit(catalog::Database& local, const catalog::Outfit& outfit) {
  auto s = local.prepare(
      "INSERT INTO outfits (id, source, source_id, photo_path) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO "
      "UPDATE "
      "SET source = ?2, source_id = ?3, photo_path = ?4");
  s.bind(1, outfit.id).bind(2, outfit.source).bind(3, outfit.source_id).bind(4, outfit.photo_path);
  s.run();
  auto clear = local.prepare("DELETE FROM outfit_items WHERE outfit_id = ?1");
  clear.bind(1, outfit.id).run();
  auto m =
      local.prepare("INSERT INTO outfit_items (outfit_id, position, item_id, slot) VALUES (?1, ?2, ?3, ?4)");
  for (std::size_t p = 0; p < outfit.members.size(); ++p) {
    m.bind(1, outfit.id).bind(2, static_cast<std::int64_t>(p)).bind(3, outfit.members[p].item_id);
    m.bind(4, std::string(catalog::slot_name(outfit.members[p].slot)));
    m.run();
  }
}

}  // namespace

struct Mirror::State {
  std::int64_t last_seq = -1;  ///< -1: no full sync yet
  std::unique_ptr<Connection> db;
  std::string catalog_id;  ///< the database's catalog_identity, once read
  engine::RecommenderEdits pending;  ///< what the syncs since the last take_edits wrote
};

engine::RecommenderEdits Mirror::take_edits() {
  std::lock_guard lock(mutex_);
  return std::exchange(state_->pending, {});
}

Mirror::Mirror(std::string url, engine::Workspace workspace, std::string model, nn::LatentPooling pooling)
    : url_(std::move(url)),
      workspace_(std::move(workspace)),
      model_(std::move(model)),
      pooling_(pooling),
      state_(std::make_unique<State>()) {}

Mirror::~Mirror() = default;

namespace {

std::filesystem::path position_file(const engine::Workspace& ws) { return ws.root() / "mirror.json"; }

std::string read_catalog_id(Connection& db) {
  const Result r = db.exec("SELECT id FROM catalog_identity LIMIT 1");
  return r.rows() > 0 ? r.text(0, 0) : std::string();
}

}  // namespace

void Mirror::save_position() {
  if (state_->catalog_id.empty() || state_->last_seq < 0) return;
  const nlohmann::json doc{{"catalog", state_->catalog_id},
                           {"position", state_->last_seq},
                           {"model", model_},
                           {"pooling", engine::pooling_name(pooling_)}};
  write_file_atomic(position_file(workspace_), doc.dump());
}

SyncReport Mirror::start() {
  std::optional<std::int64_t> saved;
  {
    std::lock_guard lock(mutex_);
    if (!state_->db) state_->db = std::make_unique<Connection>(url_);
    migrate(*state_->db);
    state_->catalog_id = read_catalog_id(*state_->db);
    try {
      const auto doc = nlohmann::json::parse(read_file_bytes(position_file(workspace_)));
      const auto [model_hash, dim] = embedding_set(*state_->db, model_, engine::pooling_name(pooling_));
      const auto header =
          engine::read_embeddings_header(workspace_.embeddings_file(model_, engine::pooling_name(pooling_)));
      check_model(workspace_, model_, model_hash, state_->db->where());  // throws as a full sync would
      // A database restored from an older dump has the same identity but a shorter change log: its
      // new changes would reuse positions this mirror has passed.
      const std::int64_t last = state_->db->exec("SELECT coalesce(max(seq), 0) FROM changes").int64(0, 0);
      const auto position = doc.at("position").get<std::int64_t>();
      if (doc.at("catalog") == state_->catalog_id && doc.at("model") == model_ &&
          doc.at("pooling") == engine::pooling_name(pooling_) && header.model_hash == model_hash &&
          header.dim == dim && position <= last && std::filesystem::exists(workspace_.root() / "catalog.db")) {
        saved = position;
      }
    } catch (const std::exception&) {
      // no position, another database or model, or a file that does not parse: a full sync
    }
    if (saved) state_->last_seq = *saved;
  }
  if (!saved) return full_sync();
  SyncReport report = pull();
  if (!report.full) {
    report.resumed = true;
    std::lock_guard lock(mutex_);
    report.position = state_->last_seq;
  }
  return report;
}

SyncReport Mirror::full_sync() {
  std::lock_guard lock(mutex_);
  state_->pending.reopen = true;  // everything may have changed
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
  ensure_photos(db, workspace_, items, outfits, &report.photos_fetched);
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
      throw Error(fmt::format("PostgreSQL at {}: item {}'s vector has {} bytes, not {}", db.where(), item,
                              bytes.size(), dim * 4),
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
  state_->catalog_id = read_catalog_id(db);
  save_position();
  report.position = seq;
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
  auto items =
      read_items(db.exec(std::string(kItemSelect) + " WHERE i.id = ANY($1::bigint[])", {id_array(item_ids)}));
  auto outfits = read_outfits(db, "WHERE o.id = ANY($1::bigint[])", {id_array(outfit_ids)});
  ensure_photos(db, workspace_, items, outfits, &report.photos_fetched);
  const Result v = db.exec(
      "SELECT item_id, view, vector FROM embeddings WHERE model = $1 AND pooling = $2 AND item_id = "
      "ANY($3::bigint[])",
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
  // The vectors: every touched item's rows removed, then the database's rows put, in each file's
  // edit log (engine::append_embedding_edits), not a rewrite of the files.
  engine::RecommenderEdits edits;
  {
    const FileLock files(workspace_.write_lock_file());
    const auto main_path = workspace_.embeddings_file(model_, pooling_text);
    const auto views_path = engine::views_file(workspace_, model_, pooling_);
    const bool has_views = std::filesystem::exists(views_path);
    engine::EmbeddingEdits main, views;
    for (const auto id : item_ids) {
      main.removed.push_back(id);
      for (int view = 1; view <= engine::kEditedViews; ++view) views.removed.push_back(engine::view_id(id, view));
    }
    std::map<std::int64_t, std::vector<float>> rows;  // index id (item, or view id) -> row
    for (int i = 0; i < v.rows(); ++i) {
      const std::int64_t item = binary_int(v, i, 0, 8);
      const int view = static_cast<int>(binary_int(v, i, 1, 4));
      const std::string bytes = v.text(i, 2);
      if (bytes.size() != static_cast<std::size_t>(dim) * sizeof(float)) continue;
      const auto* f = reinterpret_cast<const float*>(bytes.data());
      const std::int64_t id = view == 0 ? item : engine::view_id(item, view);
      rows[id].assign(f, f + dim);
      engine::EmbeddingEdits& to = view == 0 ? main : views;
      to.put_ids.push_back(id);
      to.put_vectors.insert(to.put_vectors.end(), f, f + dim);
    }
    if (engine::read_embeddings_header(main_path).model_hash != model_hash) {
      edits.reopen = true;  // the database's vectors are of another model file than the local file's
    }
    engine::append_embedding_edits(main_path, main);
    if (has_views) engine::append_embedding_edits(views_path, views);
    report.vectors = static_cast<std::int64_t>(main.put_ids.size());

    // What a server following this mirror applies in place (Server::apply_edits).
    for (const auto id : item_ids) {
      if (!present_items.contains(id)) edits.removed.push_back(id);
    }
    for (const auto& x : items) {
      const auto code = rows.find(x.item.id);
      if (!x.item.image_path || code == rows.end()) {
        edits.reopen = true;  // an item without a photo or a vector: a reopen serves it as a start would
        continue;
      }
      edits.added.push_back(x.item);
      edits.vectors.insert(edits.vectors.end(), code->second.begin(), code->second.end());
      for (int view = 1; view <= engine::kEditedViews; ++view) {
        const auto row = rows.find(engine::view_id(x.item.id, view));
        if (row == rows.end()) {
          if (has_views) edits.reopen = true;
          continue;
        }
        edits.view_vectors.insert(edits.view_vectors.end(), row->second.begin(), row->second.end());
      }
    }
    for (const auto id : outfit_ids) {
      if (!present_outfits.contains(id)) edits.removed_outfits.push_back(id);
    }
    for (const auto& o : outfits) edits.added_outfits.push_back(o.outfit);
  }
  state_->pending.append(std::move(edits));
  state_->last_seq = seq;
  save_position();
  report.position = seq;
  report.items = static_cast<std::int64_t>(items.size());
  report.outfits = static_cast<std::int64_t>(outfits.size());
  report.seconds = seconds_since(t0);
  return report;
}

void Mirror::follow(std::stop_token stop, const PullRunner& run) {
  const auto pull_once = [&] {
    SyncReport report;
    const std::function<SyncReport()> pull_now = [&] { return report = pull(); };
    if (run) {
      run(pull_now);
    } else {
      pull_now();
    }
    return report;
  };
  auto backoff = std::chrono::milliseconds(200);
  while (!stop.stop_requested()) {
    try {
      Connection listener(url_);
      listener.listen(kChangesChannel);
      pull_once();  // whatever was committed before LISTEN took effect
      backoff = std::chrono::milliseconds(200);
      auto last_pull = Clock::now();
      while (!stop.stop_requested()) {
        const int notes = listener.wait_for_notifications(std::chrono::milliseconds(250));
        // A notification means a commit; a pull every few seconds anyway covers a missed one.
        if (notes > 0 || Clock::now() - last_pull > std::chrono::seconds(5)) {
          const SyncReport r = pull_once();
          last_pull = Clock::now();
          if (r.changes > 0) {
            spdlog::info("shared catalog: {} change(s) applied ({} items, {} outfits{}) in {:.3f} s",
                         r.changes, r.items, r.outfits, r.full ? ", full sync" : "", r.seconds);
          }
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("shared catalog at {}: {}; retrying in {} ms", redact_url(url_), e.what(),
                   backoff.count());
      {
        std::lock_guard lock(mutex_);
        state_->db.reset();  // reconnect on the next pull
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
}

}  // namespace mystyle::pgsync
