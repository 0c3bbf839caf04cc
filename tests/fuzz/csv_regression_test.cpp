// What fuzzing found in the CSV reader and the importers (docs/reliability.md, "Fuzzing").
#include <gtest/gtest.h>

#include "fuzz/fuzz_inputs.h"
#include "mystyle/catalog/catalog.h"
#include "mystyle/catalog/import.h"
#include "mystyle/core/csv_reader.h"
#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle::fuzz_regression {
namespace {

using testing::TempDir;
using testing::write_file;

/// Runs `import` expecting an Error whose message contains `expected`.
template <typename F>
void expect_error(F&& import, const std::string& expected) {
  try {
    import();
    ADD_FAILURE() << "expected an error containing '" << expected << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << "message: " << e.what();
  }
}

void expect_empty(catalog::Catalog& cat) {
  const catalog::CatalogStats s = cat.stats();
  EXPECT_EQ(s.items, 0);
  EXPECT_EQ(s.outfits, 0);
  EXPECT_EQ(s.memberships, 0);
}

// Imports twice; the second must succeed, add nothing and leave the counts as the first left them.
template <typename F>
void expect_reimport_changes_nothing(catalog::Catalog& cat, F&& import) {
  const catalog::ImportSummary first = import();
  const catalog::CatalogStats after = cat.stats();
  EXPECT_EQ(after.items, first.items_added);
  catalog::ImportSummary second;
  ASSERT_NO_THROW(second = import());
  EXPECT_EQ(second.items_added, 0);
  EXPECT_EQ(second.outfits_added, 0);
  EXPECT_EQ(second.items_updated, first.items_added);
  EXPECT_EQ(cat.stats().items, after.items);
  EXPECT_EQ(cat.stats().outfits, after.outfits);
  EXPECT_EQ(cat.stats().memberships, after.memberships);
}

// Every blank line was a recursive call: a file padded with empty CRLF rows overflowed the stack.
TEST(CsvReaderRegression, ManyBlankLinesDoNotOverflowTheStack) {
  TempDir dir;
  std::string text = "id\r\n1\r\n";
  for (int i = 0; i < 300'000; ++i) text += "\r\n";
  text += "2\r\n";
  CsvReader reader(write_file(dir / "blank.csv", text));
  std::vector<std::string> row;
  std::vector<std::string> firsts;
  std::size_t last_line = 0;
  while (reader.read_row(row)) {
    firsts.push_back(row.at(0));
    last_line = reader.line();
  }
  EXPECT_EQ(firsts, (std::vector<std::string>{"id", "1", "2"}));
  EXPECT_EQ(last_line, 300'003u);
}

// size() was the number of distinct names: rows as short as that passed, and an index of a later
// column (image, des_filename, a slot column) read past the row (the three inputs below).
TEST(CsvHeaderRegression, SizeCountsEveryColumnOfTheHeaderRow) {
  const CsvHeader header({"id", "name", "id", "", ""}, "f.csv:1");
  EXPECT_EQ(header.size(), 5u);
  EXPECT_EQ(header.require("id"), 0u);  // a repeated name maps to its first column
  EXPECT_EQ(header.find(""), 3u);
}

TEST(ImportRegression, GenericCsvWithARepeatedColumnNameIsRefused) {
  const auto files = split_files(fuzz_input("import_csv_repeated_column.input"));
  ASSERT_EQ(files.size(), 1u);
  TempDir dir;
  const auto items = write_file(dir / "shop" / "items.csv", files[0]);
  catalog::Catalog cat(dir / "ws");
  // Now a clear error (this input's first fatal problem is an unterminated quote further down).
  expect_error([&] { catalog::import_csv(cat, items, std::nullopt, "shop"); }, "items.csv:");
  expect_empty(cat);
}

TEST(ImportRegression, MangoWithARepeatedColumnNameIsRefused) {
  const auto files = split_files(fuzz_input("import_mango_repeated_column.input"));
  TempDir dir;
  write_file(dir / "mango" / "product_data.csv", files.at(0));
  write_file(dir / "mango" / "outfit_data.csv", files.size() > 1 ? files[1] : "");
  catalog::Catalog cat(dir / "ws");
  expect_error([&] { catalog::import_mango(cat, dir / "mango"); }, "product_data.csv:");
  expect_empty(cat);
}

TEST(ImportRegression, AihubWithARepeatedColumnNameIsRefused) {
  TempDir dir;
  const auto csv = write_file(dir / "aihub" / "uni_wearing.csv", fuzz_input("import_aihub_repeated_column.csv"));
  std::filesystem::create_directories(dir / "aihub" / "images");
  catalog::Catalog cat(dir / "ws");
  expect_error([&] { catalog::import_aihub(cat, csv, dir / "aihub" / "images"); }, "fields, found");
  expect_empty(cat);
}

// Text was read back up to its first NUL (a UTF-16 file read as bytes is full of them), so the
// second import of the same file no longer found its rows and failed on a UNIQUE constraint.
TEST(ImportRegression, GenericCsvIdWithANulByteImportsTwice) {
  const auto files = split_files(fuzz_input("import_csv_nul_in_id.input"));
  TempDir dir;
  const auto items = write_file(dir / "shop" / "items.csv", files.at(0));
  catalog::Catalog cat(dir / "ws");
  expect_reimport_changes_nothing(cat, [&] { return catalog::import_csv(cat, items, std::nullopt, "shop"); });
  // The first row's id, NUL bytes included.
  const std::size_t row = files[0].find('\n') + 1;
  const std::string id = files[0].substr(row, files[0].find(',', row) - row);
  ASSERT_NE(id.find('\0'), std::string::npos);
  const auto item = cat.find_item_by_source("shop", id);
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->source_id, id);
}

TEST(ImportRegression, AihubOutfitNameWithNulBytesImportsTwice) {
  TempDir dir;
  const auto csv = write_file(dir / "aihub" / "uni_wearing.csv", fuzz_input("import_aihub_nul_in_name.csv"));
  std::filesystem::create_directories(dir / "aihub" / "images");
  catalog::Catalog cat(dir / "ws");
  expect_reimport_changes_nothing(cat, [&] { return catalog::import_aihub(cat, csv, dir / "aihub" / "images"); });
  EXPECT_EQ(cat.stats().outfits, 2);
}

}  // namespace
}  // namespace mystyle::fuzz_regression
