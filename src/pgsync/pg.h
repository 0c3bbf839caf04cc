#pragma once
// Internal to pgsync: a thin RAII layer over libpq (one connection, parameterised statements,
// transactions, LISTEN/NOTIFY). Every failure becomes a mystyle::Error naming what was being done
// and PostgreSQL's message. A Connection belongs to one thread at a time.
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mystyle::pgsync {

/// One query's rows. Text format, except columns asked for in binary (bytea).
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  int rows() const { return PQntuples(r_.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string text(int row, int col) const { return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))}; }
  std::optional<std::string> optional_text(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return text(row, col);
  }
  std::int64_t int64(int row, int col) const;

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

/// A parameter: text, or null; `binary` for bytea.
struct Param {
  std::optional<std::string> value;
  bool binary = false;
  Param(std::nullopt_t) {}
  Param(std::string v) : value(std::move(v)) {}
  Param(const char* v) : value(std::string(v)) {}
  Param(std::int64_t v) : value(std::to_string(v)) {}
  Param(int v) : value(std::to_string(v)) {}
  Param(const std::optional<std::string>& v) : value(v) {}
  static Param bytes(std::string v) {
    Param p(std::move(v));
    p.binary = true;
    return p;
  }
};

class Connection {
 public:
  /// Connects to `url` (postgresql://... or a libpq keyword string). Throws kIo naming the URL
  /// without its password.
  explicit Connection(const std::string& url);

  /// Runs `sql` with $1.. parameters; `binary_result` asks for binary columns (bytea as raw bytes).
  Result exec(std::string_view sql, const std::vector<Param>& params = {}, bool binary_result = false);
  /// Runs several statements without parameters.
  void exec_script(std::string_view sql);

  /// LISTEN `channel`.
  void listen(const std::string& channel);
  /// Waits up to `timeout` for notifications; returns how many arrived (0 on timeout).
  int wait_for_notifications(std::chrono::milliseconds timeout);

  const std::string& where() const { return where_; }

 private:
  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::unique_ptr<PGconn, Finish> conn_;
  std::string where_;  ///< the URL without password, for messages
};

/// BEGIN on construction; ROLLBACK on destruction unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Connection& c, std::string_view begin = "BEGIN");
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& c_;
  bool done_ = false;
};

/// `url` with any password replaced by "***".
std::string redact_url(const std::string& url);

}  // namespace mystyle::pgsync
