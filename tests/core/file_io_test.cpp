#include "mystyle/core/file_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

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

// A writer killed mid-write leaves `<name>.tmp-<pid>-<n>`; the next write of that file removes it
// when the process is gone, and keeps a live process's (this one's) and other files' temporaries.
TEST(FileIo, AtomicWriteRemovesADeadWritersTemporaries) {
  testing::TempDir dir;
  const auto path = dir / "model.bin";
  // A pid above the kernel's maximum never belongs to a live process.
  long pid_max = 4194304;
  if (std::FILE* f = std::fopen("/proc/sys/kernel/pid_max", "r")) {
    if (std::fscanf(f, "%ld", &pid_max) != 1) pid_max = 4194304;
    std::fclose(f);
  }
  const auto dead = dir / ("model.bin.tmp-" + std::to_string(pid_max + 1) + "-0");
  const auto live = dir / ("model.bin.tmp-" + std::to_string(::getpid()) + "-99");
  const auto other = dir / ("other.bin.tmp-" + std::to_string(pid_max + 1) + "-0");
  for (const auto& p : {dead, live, other}) testing::write_file(p, "half a file");
  write_file_atomic(path, "whole");
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_EQ(read_file_bytes(path), "whole");
}

// A folder that cannot be made (here: a file stands in its place; in a read-only workspace: no
// permission) is named with the reason, not as the temporary file's "No such file or directory".
TEST(FileIo, AtomicWriteNamesTheFolderItCannotCreate) {
  testing::TempDir dir;
  testing::write_file(dir / "index", "a file, not a folder");
  const auto path = dir / "index" / "style" / "model.idx";
  try {
    write_file_atomic(path, "bytes");
    FAIL() << "wrote under a file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string() + ": cannot write (creating folder " + (dir / "index" / "style").string()),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("No such file"), std::string::npos) << message;
  }
  EXPECT_EQ(read_file_bytes(dir / "index"), "a file, not a folder");
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
