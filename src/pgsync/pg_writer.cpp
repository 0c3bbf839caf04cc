// PgWriter: the admin API's edits, each one transaction on the database, then pulled by the mirror.
#include <fmt/format.h>

#include <optional>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/probe.h"
#include "mystyle/pgsync/pg_catalog.h"
#include "pg_internal.h"

namespace mystyle::pgsync {

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
void refuse_taken(Connection& db, const std::string& what, const std::string& source,
                  const std::string& source_id) {
  const Result taken = db.exec(fmt::format("SELECT id FROM {}s WHERE source = $1 AND source_id = $2", what),
                               {source, source_id});
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
          "INSERT INTO items (source, source_id, name, category, family, type, colour, slot, shop_url, "
          "photo, colour_name, colour_family) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
          {item.source, item.source_id, item.name, item.category, item.family, item.type, item.colour,
           std::string(catalog::slot_name(item.slot)), item.shop_url, hash, item.colour_name,
           item.colour_family});
      item.id = added.int64(0, 0);
      auto put = [&](int view, std::span<const float> row) {
        db.exec("INSERT INTO embeddings (model, pooling, item_id, view, vector) VALUES ($1, $2, $3, $4, $5)",
                {mirror_->model(), pooling, item.id, view, Param::bytes(vector_bytes(row))});
      };
      put(0, vectors.item);
      for (int v = 1; views && v <= engine::kEditedViews; ++v) {
        put(v, std::span<const float>(vectors.views)
                   .subspan(static_cast<std::size_t>((v - 1) * dim), static_cast<std::size_t>(dim)));
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

engine::RecommenderEdits PgWriter::take_edits() { return mirror_->take_edits(); }

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
            "DELETE FROM outfits WHERE id = $1 AND (SELECT count(*) FROM outfit_items WHERE outfit_id = $1) "
            "< 2",
            {outfit});
        log_change(db, "outfit", outfit, "upsert");
      }
      if (db.exec("DELETE FROM items WHERE id = $1 RETURNING id", {id}).rows() == 0)
        return false;  // rolls back
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
    throw Error(fmt::format("an outfit needs at least two pieces, not {}", outfit.members.size()),
                ErrorKind::kInvalidInput);
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
