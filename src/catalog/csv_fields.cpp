#include "csv_fields.h"

#include <fmt/format.h>

#include "mystyle/core/error.h"

namespace mystyle::catalog {

CsvHeader read_header(CsvReader& reader) {
  std::vector<std::string> names;
  if (!reader.read_row(names)) {
    throw Error(fmt::format("{}:1: empty file, expected a header row", reader.path().string()));
  }
  return CsvHeader(names, reader.where());
}

std::string field_where(const CsvReader& reader, std::string_view field) {
  return fmt::format("{}: field '{}'", reader.where(), field);
}

}  // namespace mystyle::catalog
