#include "mystyle/catalog/database.h"

#include <unistd.h>

#include <fmt/format.h>

#include <cstring>

#include "mystyle/core/error.h"

namespace mystyle::catalog {
namespace {

/// SQLite's message, with the operating system's reason when there is one (a full disk says "disk
/// I/O error" alone otherwise) and, for a failed write, that the catalog kept its last committed state.
std::string sqlite_reason(sqlite3* db, std::string message) {
  if (db == nullptr) return message;
  const int os = sqlite3_system_errno(db);
  if (os != 0) message += fmt::format(" ({})", std::strerror(os));
  const int code = sqlite3_errcode(db);
  if (code == SQLITE_FULL || code == SQLITE_IOERR) {
    message += "; the catalog keeps its last committed state (the change is rolled back)";
  }
  return message;
}

[[noreturn]] void fail(sqlite3* db, const std::string& where, std::string_view what) {
  throw Error(fmt::format("{}: {}: {}", where, what,
                          db != nullptr ? sqlite_reason(db, sqlite3_errmsg(db)) : std::string("out of memory")),
              ErrorKind::kIo);
}

}  // namespace

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_.get(), index, value) != SQLITE_OK) fail(db_, where_, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK) {
    fail(db_, where_, "bind");
  }
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_.get(), index) != SQLITE_OK) fail(db_, where_, "bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, where_, fmt::format("'{}'", sqlite3_sql(stmt_.get())));
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::int64_t Statement::column_int64(int index) const { return sqlite3_column_int64(stmt_.get(), index); }

std::string Statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(stmt_.get(), index);
  if (text == nullptr) return {};
  // With the byte count, not up to the first NUL: bind() stores a value's every byte, so a source id
  // holding a NUL (a UTF-16 CSV read as bytes) was read back shorter, did not match on the next
  // import and failed it with a UNIQUE constraint error (found by fuzz/import_csv_fuzzer).
  const int bytes = sqlite3_column_bytes(stmt_.get(), index);
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes));
}

std::optional<std::string> Statement::column_optional_text(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_text(index);
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_.get(), index) == SQLITE_NULL; }

Database::Database(const std::filesystem::path& path) : path_(path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  db_.reset(raw);
  try {
    if (rc != SQLITE_OK) fail(raw, path.string(), "cannot open database");
    sqlite3_busy_timeout(raw, 5000);
    exec("PRAGMA journal_mode=WAL");
  } catch (const Error& e) {
    // SQLite's own words ("attempt to write a readonly database") do not say what to do.
    const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    if (::access(folder.c_str(), W_OK) != 0 || (std::filesystem::exists(path) && ::access(path.c_str(), W_OK) != 0)) {
      throw Error(fmt::format("{}: cannot open the catalog: its folder or file is not writable, and SQLite writes "
                              "its -wal and -shm files beside the catalog even to read it; make {} writable "
                              "(or work on a copy of the workspace) ({})",
                              path.string(), folder.string(), e.what()),
                  ErrorKind::kIo);
    }
    throw;
  }
  exec("PRAGMA foreign_keys=ON");
  exec("PRAGMA synchronous=NORMAL");
}

void Database::exec(std::string_view sql) {
  char* message = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string what = sqlite_reason(db_.get(), message != nullptr ? message : "unknown error");
    sqlite3_free(message);
    throw Error(fmt::format("{}: {}", path_.string(), what), ErrorKind::kIo);
  }
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                         nullptr) != SQLITE_OK) {
    fail(db_.get(), path_.string(), fmt::format("cannot prepare '{}'", sql));
  }
  return Statement(db_.get(), stmt, path_.string());
}

std::int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_.get()); }

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {  // a destructor must not throw; the connection's own rollback still happens
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace mystyle::catalog
