#include "pg.h"

#include <fmt/format.h>
#include <poll.h>

#include <charconv>
#include <regex>

#include "mystyle/core/error.h"

namespace mystyle::pgsync {

std::string redact_url(const std::string& url) {
  static const std::regex uri_password(R"((postgres(?:ql)?://[^:/@]*:)[^@]*@)");
  static const std::regex keyword_password(R"((password\s*=\s*)\S+)");
  return std::regex_replace(std::regex_replace(url, uri_password, "$1***@"), keyword_password, "$1***");
}

std::int64_t Result::int64(int row, int col) const {
  const char* v = PQgetvalue(r_.get(), row, col);
  std::int64_t out = 0;
  const auto len = static_cast<std::size_t>(PQgetlength(r_.get(), row, col));
  const auto [end, ec] = std::from_chars(v, v + len, out);
  if (ec != std::errc() || end != v + len)
    throw Error(fmt::format("PostgreSQL: expected a whole number, got '{}'", std::string_view(v, len)), ErrorKind::kCorrupt);
  return out;
}

Connection::Connection(const std::string& url) : where_(redact_url(url)) {
  conn_.reset(PQconnectdb(url.c_str()));
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    throw Error(fmt::format("cannot connect to PostgreSQL at {}: {}", where_,
                            conn_ ? PQerrorMessage(conn_.get()) : "out of memory"),
                ErrorKind::kIo);
  }
  // Notices (e.g. "relation already exists, skipping") are not errors; keep them off stderr.
  PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
}

Result Connection::exec(std::string_view sql, const std::vector<Param>& params, bool binary_result) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (const Param& p : params) {
    values.push_back(p.value ? p.value->data() : nullptr);
    lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
    formats.push_back(p.binary ? 1 : 0);
  }
  const std::string text(sql);
  PGresult* raw = PQexecParams(conn_.get(), text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                               lengths.data(), formats.data(), binary_result ? 1 : 0);
  Result r(raw);
  const auto status = PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
    const std::string code = state ? state : "";
    // A taken unique key is the caller's mistake, a missing referenced row an unknown id.
    const ErrorKind kind = code == "23505" ? ErrorKind::kInvalidInput
                           : code == "23503" ? ErrorKind::kNotFound
                                             : ErrorKind::kIo;
    throw Error(fmt::format("PostgreSQL at {}: {}", where_, PQresultErrorMessage(raw)), kind);
  }
  return r;
}

void Connection::exec_script(std::string_view sql) {
  const std::string text(sql);
  PGresult* r = PQexec(conn_.get(), text.c_str());
  const auto status = PQresultStatus(r);
  const std::string message = PQresultErrorMessage(r);
  PQclear(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw Error(fmt::format("PostgreSQL at {}: {}", where_, message), ErrorKind::kIo);
}

void Connection::listen(const std::string& channel) {
  exec_script(fmt::format("LISTEN {}", channel));
}

int Connection::wait_for_notifications(std::chrono::milliseconds timeout) {
  auto drain = [&] {
    int n = 0;
    while (PGnotify* note = PQnotifies(conn_.get())) {
      PQfreemem(note);
      ++n;
    }
    return n;
  };
  if (const int n = drain(); n > 0) return n;
  pollfd fd{PQsocket(conn_.get()), POLLIN, 0};
  if (fd.fd < 0) throw Error(fmt::format("PostgreSQL at {}: connection lost", where_), ErrorKind::kIo);
  const int ready = ::poll(&fd, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return 0;
  if (PQconsumeInput(conn_.get()) == 0)
    throw Error(fmt::format("PostgreSQL at {}: {}", where_, PQerrorMessage(conn_.get())), ErrorKind::kIo);
  return drain();
}

Transaction::Transaction(Connection& c, std::string_view begin) : c_(c) { c_.exec_script(begin); }

Transaction::~Transaction() {
  if (!done_) {
    try {
      c_.exec_script("ROLLBACK");
    } catch (...) {  // the server rolls back a broken connection's transaction anyway
    }
  }
}

void Transaction::commit() {
  c_.exec_script("COMMIT");
  done_ = true;
}

}  // namespace mystyle::pgsync
