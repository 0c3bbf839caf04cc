#include "mystyle/core/file_io.h"

#include <gtest/gtest.h>

#include "mystyle/core/error.h"
#include "support/test_support.h"

namespace mystyle {
namespace {

TEST(FileIo, AtomicWriteCreatesFoldersAndLeavesNoTemporaries) {
  testing::TempDir dir;
  const auto path = dir / "a" / "b" / "file.bin";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  EXPECT_EQ(read_file_bytes(path), "second");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path.parent_path())) ++files;
  EXPECT_EQ(files, 1u);
}

TEST(FileIo, ReadRefusesMissingAndOversizedFiles) {
  testing::TempDir dir;
  try {
    read_file_bytes(dir / "missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  const auto path = testing::write_file(dir / "big", std::string(100, 'x'));
  try {
    read_file_bytes(path, 99);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTooLarge);
  }
}

// FNV-1a 64 reference values (from the algorithm's published test suite).
TEST(FileIo, Fnv1a64MatchesReferenceValues) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(FileIo, MappedFileSeesTheBytes) {
  testing::TempDir dir;
  const auto path = testing::write_file(dir / "m", "mapped bytes");
  MappedFile map(path);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(map.bytes().data()), map.bytes().size()), "mapped bytes");
  MappedFile moved = std::move(map);
  EXPECT_EQ(moved.bytes().size(), 12u);
  EXPECT_TRUE(map.bytes().empty());
}

}  // namespace
}  // namespace mystyle
