#pragma once
// Small helpers the importers share for reading CSV files into records.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mystyle/core/csv_reader.h"

namespace mystyle::catalog {

/// Opens `path` and reads its header row; throws naming the file when it is empty.
CsvHeader read_header(CsvReader& reader);

/// Parses a whole decimal integer; nullopt for anything else (blank, "12a", overflow).
inline std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

/// `where` + ": field 'name'" for error messages.
std::string field_where(const CsvReader& reader, std::string_view field);

}  // namespace mystyle::catalog
