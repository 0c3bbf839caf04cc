#pragma once
/// A small RFC 4180 CSV reader: quoted fields, doubled quotes, embedded newlines, CRLF, a UTF-8
/// byte-order mark. Rows come with the line number they started on, so every error can name
/// `file:line`. Not thread-safe; one reader per file.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mystyle {

class CsvReader {
 public:
  /// Opens `path`; throws mystyle::Error (kNotFound) when it cannot be read.
  explicit CsvReader(const std::filesystem::path& path);

  /// Reads the next row into `fields`; returns false at end of file. Throws on an unterminated
  /// quoted field, naming the line where it began.
  bool read_row(std::vector<std::string>& fields);

  /// 1-based line number where the last row returned by read_row began.
  std::size_t line() const { return row_line_; }
  const std::filesystem::path& path() const { return path_; }
  /// "file:line" of the last row, for error messages.
  std::string where() const;

 private:
  /// read_row without skipping blank lines.
  bool read_one_row(std::vector<std::string>& fields);

  std::filesystem::path path_;
  std::ifstream in_;
  std::size_t next_line_ = 1;
  std::size_t row_line_ = 0;
  bool first_row_ = true;
};

/// Maps a header row's column names to indexes; `require` throws naming the file and the missing
/// column, `find` returns nullopt for an optional column. A name repeated in the header maps to
/// its first column.
class CsvHeader {
 public:
  CsvHeader(const std::vector<std::string>& names, std::string where);
  std::size_t require(std::string_view name) const;
  std::optional<std::size_t> find(std::string_view name) const;
  /// Columns in the header row, repeated names included: what every data row must have, so that
  /// each index require() and find() return is inside such a row.
  std::size_t size() const { return column_count_; }

 private:
  std::unordered_map<std::string, std::size_t> columns_;
  std::size_t column_count_ = 0;  // not columns_.size(): a repeated name once made rows too short (fuzzing)
  std::string where_;
};

}  // namespace mystyle
