#pragma once
// Internal to pgsync: what its parts share. pg_schema.cpp (the schema, its migration and the
// conventions of its rows) defines these; pg_push.cpp (push_workspace), pg_mirror.cpp (Mirror)
// and pg_writer.cpp (PgWriter) use them.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "mystyle/engine/workspace.h"
#include "pg.h"

namespace mystyle::pgsync {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Every writer's transaction holds this lock until it commits: the change log's order is then the
// commit order, so "everything after seq N" never misses a change committed late.
inline constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(726270001)";

/// Creates or migrates the schema to kPgSchemaVersion, under an advisory lock (two servers starting
/// at once migrate once); returns the version. Refuses a newer one.
int migrate(Connection& db);

/// A row of embeddings as the bytes of its `vector` column.
std::string vector_bytes(std::span<const float> row);

/// A photo's key in the photos table: its bytes' FNV-1a hash, 16 hex digits.
std::string photo_hash(std::string_view bytes);

/// Where a workspace mirroring the database keeps the photo of `hash`.
std::filesystem::path local_photo(const engine::Workspace& ws, const std::string& hash,
                                  const std::string& format);

/// Records a change and signals it; inside the writer's transaction (delivered at commit).
void log_change(Connection& db, const char* entity, std::int64_t id, const char* op);
void notify(Connection& db);

/// The embedding set of (model, pooling): its hash and dim; throws naming `mystyle catalog push`.
std::pair<std::uint64_t, int> embedding_set(Connection& db, const std::string& model,
                                            const std::string& pooling);

/// Throws when the workspace's models/<model>.model is not the file whose hash is `remote_hash`
/// (the one the database's embeddings were made with), naming both.
void check_model(const engine::Workspace& ws, const std::string& model, std::uint64_t remote_hash,
                 const std::string& where);

}  // namespace mystyle::pgsync
