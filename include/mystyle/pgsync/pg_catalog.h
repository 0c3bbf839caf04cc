#pragma once
/// A catalog shared by several servers, on PostgreSQL (`--catalog postgresql://...`; SQLite in the
/// workspace stays the embedded default). The database holds the catalog (items, outfits, their
/// slots, the photos' bytes), the embeddings of the image model and a change log; each server
/// keeps a mirror of it in its own workspace (catalog.db, embeddings, photos/), from which it
/// opens its in-memory index as always, and follows the change log (LISTEN/NOTIFY) so that an
/// edit made through any server is served by all of them. docs/deploy.md tells how to run it.
///
/// Schema (kPgSchemaVersion, migrated on first use under an advisory lock so that two servers
/// starting at once migrate once): the SQLite catalog's tables with the same columns, a photo
/// referenced by hash instead of a path (photos: hash, format, bytes), embedding_sets (model,
/// pooling, model_hash, dim) and embeddings (model, pooling, item_id, view, vector), and
/// changes (seq, entity, entity_id, op). Writers take one advisory lock for their transaction, so
/// the change log's order is the commit order and a reader that has seen seq N has seen all before.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>

#include "mystyle/engine/catalog_edits.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/engine/workspace.h"
#include "mystyle/nn/model.h"

namespace mystyle::pgsync {

inline constexpr int kPgSchemaVersion = 3;
/// The NOTIFY channel every committed edit signals.
inline constexpr const char* kChangesChannel = "mystyle_changes";

/// True for a postgresql:// or postgres:// URL.
bool is_postgres_url(std::string_view catalog);

/// Creates or migrates the schema at `url`; returns its version. Refuses a newer one.
int migrate_database(const std::string& url);

struct PushReport {
  std::int64_t items = 0, outfits = 0, photos = 0, vectors = 0;
  double seconds = 0;
};

/// Copies a workspace's catalog, its photos and the embeddings of (model, pooling) with their
/// edited views into the database, keeping the ids. The database's catalog must be empty unless
/// `replace` (then it is replaced, in the same transaction). Every server following it reloads.
PushReport push_workspace(const engine::Workspace& workspace, const std::string& url, const std::string& model,
                          nn::LatentPooling pooling, bool replace);

struct SyncReport {
  std::int64_t items = 0, outfits = 0, vectors = 0, photos_fetched = 0, changes = 0;
  bool full = false;
  bool resumed = false;  ///< start(): the workspace already mirrored the database; only changes were pulled
  std::int64_t position = 0;  ///< the last change applied (`changes.seq`)
  double seconds = 0;
};

/// A workspace kept as a mirror of the database. Thread-safe (one sync at a time).
class Mirror {
 public:
  Mirror(std::string url, engine::Workspace workspace, std::string model, nn::LatentPooling pooling);
  ~Mirror();

  /// Replaces the workspace's catalog and embeddings with the database's, fetching the photos it
  /// lacks. Throws when the database has no embeddings of the model, or when they were made by
  /// another model file than the workspace's models/<model>.model (naming both).
  SyncReport full_sync();
  /// Applies the changes committed since the last sync (a full sync when the log says so).
  SyncReport pull();
  /// What a server's start runs: when the workspace already mirrors this database (its mirror.json
  /// names the same catalog identity, model and pooling, and the embeddings file was made by the
  /// database's model), only the changes since the position it recorded are pulled; otherwise a
  /// full sync. Every sync records the position it reached (after its writes), so a process killed
  /// in between pulls some changes again, which is harmless: a pull rewrites what it names.
  SyncReport start();
  /// What the syncs since the last call wrote into the workspace, for a server to apply in place
  /// (Server::apply_edits); `reopen` after a full sync or a change it cannot describe.
  engine::RecommenderEdits take_edits();
  /// LISTENs on kChangesChannel and pulls on every notification (and every few seconds anyway),
  /// reconnecting after errors, until `stop` is requested. With `run`, each pull is made by
  /// run(pull) (a server runs it with its reloads held off and serves what it wrote).
  using PullRunner = std::function<void(const std::function<SyncReport()>& pull)>;
  void follow(std::stop_token stop, const PullRunner& run = {});

  const std::string& url() const { return url_; }
  const engine::Workspace& workspace() const { return workspace_; }
  const std::string& model() const { return model_; }
  nn::LatentPooling pooling() const { return pooling_; }

 private:
  struct State;
  /// Writes mirror.json: the catalog identity and the last change applied (call with mutex_ held).
  void save_position();
  std::string url_;
  engine::Workspace workspace_;
  std::string model_;
  nn::LatentPooling pooling_;
  std::mutex mutex_;
  std::unique_ptr<State> state_;
};

/// The admin API's writer on the database: each edit is one transaction with its change-log row
/// and NOTIFY; then the mirror pulls it, so this server serves it when the edit returns. Items
/// are embedded with the workspace's model, which must be the one the database's embeddings
/// were made with.
class PgWriter : public engine::CatalogWriter {
 public:
  PgWriter(std::shared_ptr<Mirror> mirror, image::DecodeLimits limits);
  ~PgWriter() override;
  engine::AddedItem add_item(catalog::Item item, std::string_view photo_bytes) override;
  bool remove_item(std::int64_t id) override;
  catalog::Outfit add_outfit(const catalog::Outfit& outfit) override;
  /// The mirror's (Mirror::take_edits): the pulls after each edit, others' changes included.
  engine::RecommenderEdits take_edits() override;

 private:
  struct State;
  std::shared_ptr<Mirror> mirror_;
  image::DecodeLimits limits_;
  std::mutex mutex_;
  std::unique_ptr<State> state_;
};

}  // namespace mystyle::pgsync
