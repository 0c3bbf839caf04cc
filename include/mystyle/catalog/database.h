#pragma once
/// A thin RAII layer over SQLite: one connection, prepared statements, transactions.
/// Every failure becomes a mystyle::Error naming the database file and SQLite's message.
/// A Database and its Statements belong to one thread at a time.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mystyle::catalog {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string where) : db_(db), stmt_(stmt), where_(std::move(where)) {}

  /// Binders take 1-based parameter indexes and return *this for chaining.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::optional<std::string>& value);
  Statement& bind_null(int index);

  /// Runs to the next row; false when done.
  bool step();
  /// Runs a statement that returns no rows, then resets it for reuse.
  void run();
  void reset();

  std::int64_t column_int64(int index) const;
  std::string column_text(int index) const;
  std::optional<std::string> column_optional_text(int index) const;
  bool column_is_null(int index) const;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
  std::string where_;
};

class Database {
 public:
  /// Opens (creating when absent) the SQLite file at `path` in WAL mode with foreign keys on.
  explicit Database(const std::filesystem::path& path);

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_id() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::filesystem::path path_;
  std::unique_ptr<sqlite3, Close> db_;
};

/// Begins a transaction on construction; rolls back on destruction unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace mystyle::catalog
