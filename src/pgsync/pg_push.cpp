// push_workspace: a workspace's catalog, photos and embeddings copied into the database.
#include <fmt/format.h>

#include <optional>
#include <set>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/image/probe.h"
#include "mystyle/pgsync/pg_catalog.h"
#include "pg_internal.h"

namespace mystyle::pgsync {
namespace {

std::string format_of(std::string_view bytes, const std::string& name) {
  return image::probe_image({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, name).format;
}

}  // namespace

PushReport push_workspace(const engine::Workspace& workspace, const std::string& url,
                          const std::string& model, nn::LatentPooling pooling, bool replace) {
  const auto t0 = Clock::now();
  Connection db(url);
  migrate(db);
  const std::string pooling_text = engine::pooling_name(pooling);
  const engine::Embeddings embeddings =
      engine::load_embeddings(workspace.embeddings_file(model, pooling_text));
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
  db.exec_script(
      "DELETE FROM embeddings; DELETE FROM embedding_sets; DELETE FROM outfit_items; DELETE FROM outfits; "
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
    db.exec(
        "INSERT INTO items (id, source, source_id, name, category, family, type, colour, slot, shop_url, "
        "photo, colour_name, colour_family) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        {item.id, item.source, item.source_id, item.name, item.category, item.family, item.type, item.colour,
         std::string(catalog::slot_name(item.slot)), item.shop_url, store_photo(item.image_path),
         item.colour_name, item.colour_family});
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
      put(engine::item_of_view(views->ids[i]), static_cast<int>(views->ids[i] % engine::kViewStride),
          views->row(i));
    }
  }
  db.exec_script(
      "SELECT setval('item_ids', greatest((SELECT max(id) FROM items), 1)); "
      "SELECT setval('outfit_ids', greatest((SELECT max(id) FROM outfits), 1))");
  log_change(db, "all", 0, "upsert");
  notify(db);
  tx.commit();
  report.seconds = seconds_since(t0);
  return report;
}

}  // namespace mystyle::pgsync
