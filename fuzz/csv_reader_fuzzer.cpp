// Fuzzes the CSV reader every importer and the training history use: any bytes must read as rows
// or fail with mystyle::Error naming the line, with line numbers that never go backwards.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "mystyle/core/csv_reader.h"

using namespace mystyle;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::scratch_dir() / "input.csv";
  fuzz::write_file(path, fuzz::as_text(data, size));
  fuzz::expect_only_mystyle_errors([&] {
    CsvReader reader(path);
    std::vector<std::string> row;
    if (!reader.read_row(row)) return;
    const CsvHeader header(row, reader.where());
    fuzz::check(header.size() <= row.size(), "header has more columns than its row");
    (void)header.find("id");
    std::size_t last_line = reader.line();
    std::size_t bytes = 0;
    while (reader.read_row(row)) {
      fuzz::check(reader.line() > last_line, "row line numbers did not increase");
      last_line = reader.line();
      fuzz::check(!row.empty(), "read_row returned an empty row");
      for (const auto& field : row) bytes += field.size();
    }
    fuzz::check(bytes <= size, "rows hold more bytes than the file");
    (void)header.require("id");
  });
  return 0;
}
