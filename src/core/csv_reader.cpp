#include "mystyle/core/csv_reader.h"

#include <fmt/format.h>

#include "mystyle/core/error.h"

namespace mystyle {

CsvReader::CsvReader(const std::filesystem::path& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) throw Error(fmt::format("{}: cannot open file", path.string()), ErrorKind::kNotFound);
}

std::string CsvReader::where() const { return fmt::format("{}:{}", path_.string(), row_line_); }

bool CsvReader::read_row(std::vector<std::string>& fields) {
  // A loop, not a recursive call per blank line: a file of many blank lines (an export padded with
  // empty CRLF rows) once overflowed the stack (found by fuzz/csv_reader_fuzzer).
  while (read_one_row(fields)) {
    // A blank line (for example a trailing newline at the end) is skipped, not a row of one field.
    if (!(fields.size() == 1 && fields[0].empty())) return true;
  }
  return false;
}

bool CsvReader::read_one_row(std::vector<std::string>& fields) {
  fields.clear();
  row_line_ = next_line_;
  std::string field;
  bool in_quotes = false;
  bool any = false;
  char c;
  while (in_.get(c)) {
    any = true;
    if (in_quotes) {
      if (c == '"') {
        if (in_.peek() == '"') {
          in_.get(c);
          field.push_back('"');
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++next_line_;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      in_quotes = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      ++next_line_;
      if (!field.empty() && field.back() == '\r') field.pop_back();
      fields.push_back(std::move(field));
      break;
    } else {
      field.push_back(c);
    }
  }
  if (in_quotes) {
    throw Error(fmt::format("{}:{}: unterminated quoted field", path_.string(), row_line_));
  }
  if (!any) return false;
  if (in_.eof()) {
    if (!field.empty() && field.back() == '\r') field.pop_back();
    fields.push_back(std::move(field));
  }
  if (first_row_) {
    first_row_ = false;
    // A UTF-8 byte-order mark is not part of the first column's name.
    if (!fields.empty() && fields[0].starts_with("\xEF\xBB\xBF")) fields[0].erase(0, 3);
  }
  return true;
}

CsvHeader::CsvHeader(const std::vector<std::string>& names, std::string where)
    : column_count_(names.size()), where_(std::move(where)) {
  for (std::size_t i = 0; i < names.size(); ++i) columns_.emplace(names[i], i);
}

std::size_t CsvHeader::require(std::string_view name) const {
  auto it = columns_.find(std::string(name));
  if (it == columns_.end()) throw Error(fmt::format("{}: missing column '{}'", where_, name));
  return it->second;
}

std::optional<std::size_t> CsvHeader::find(std::string_view name) const {
  auto it = columns_.find(std::string(name));
  if (it == columns_.end()) return std::nullopt;
  return it->second;
}

}  // namespace mystyle
