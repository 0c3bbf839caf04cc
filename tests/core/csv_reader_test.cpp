#include "mystyle/core/csv_reader.h"

#include <gtest/gtest.h>

#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle {
namespace {

using testing::TempDir;
using testing::write_file;

std::vector<std::vector<std::string>> read_all(const std::filesystem::path& path, std::vector<std::size_t>* lines = nullptr) {
  CsvReader reader(path);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  while (reader.read_row(row)) {
    rows.push_back(row);
    if (lines) lines->push_back(reader.line());
  }
  return rows;
}

TEST(CsvReader, ReadsQuotedFieldsCrlfAndBom) {
  TempDir dir;
  auto path = write_file(dir / "a.csv", "\xEF\xBB\xBFid,name\r\n1,\"a, \"\"b\"\"\"\r\n2,plain\r\n");
  auto rows = read_all(path);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "a, \"b\""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", "plain"}));
}

// A quoted newline belongs to the field, and the next row's line number accounts for it.
TEST(CsvReader, TracksLineNumbersAcrossEmbeddedNewlines) {
  TempDir dir;
  auto path = write_file(dir / "a.csv", "h1,h2\n\"x\ny\",1\n\nlast,2");
  std::vector<std::size_t> lines;
  auto rows = read_all(path, &lines);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][0], "x\ny");
  EXPECT_EQ(lines, (std::vector<std::size_t>{1, 2, 5}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"last", "2"}));
}

TEST(CsvReader, EmptyFieldsAreKept) {
  TempDir dir;
  auto rows = read_all(write_file(dir / "a.csv", "a,,c,\n"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "", "c", ""}));
}

TEST(CsvReader, UnterminatedQuoteNamesTheLine) {
  TempDir dir;
  auto path = write_file(dir / "bad.csv", "a,b\n1,2\n3,\"open\n");
  CsvReader reader(path);
  std::vector<std::string> row;
  ASSERT_TRUE(reader.read_row(row));
  ASSERT_TRUE(reader.read_row(row));
  try {
    reader.read_row(row);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:3: unterminated"), std::string::npos) << e.what();
  }
}

TEST(CsvReader, MissingFileIsNotFound) {
  try {
    CsvReader reader("/nonexistent/x.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.csv"), std::string::npos);
  }
}

TEST(CsvHeader, RequireNamesMissingColumn) {
  CsvHeader header({"a", "b"}, "f.csv:1");
  EXPECT_EQ(header.require("b"), 1u);
  EXPECT_FALSE(header.find("c").has_value());
  EXPECT_THROW(
      {
        try {
          header.require("c");
        } catch (const Error& e) {
          EXPECT_STREQ(e.what(), "f.csv:1: missing column 'c'");
          throw;
        }
      },
      Error);
}

}  // namespace
}  // namespace mystyle
