#pragma once
/// Whole-file I/O shared by every module that stores something in the workspace: atomic writes,
/// bounded reads, a checksum, and read-only memory maps.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace mystyle {

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed, then renamed over
/// `path`, so a reader sees the old file or the new one, never half of one. Creates missing parent
/// folders. Temporaries of `path` left by a writer that was killed (its process gone) are removed.
/// Throws mystyle::Error (kIo) naming the file.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/// Appends `bytes` to `path` after cutting it to `keep` bytes (what a reader found valid: a record torn
/// by a crash goes), creating it when absent, and flushes it to disk (the file, and the folder when
/// the file is new) before returning. Throws mystyle::Error (kIo) naming the file.
void append_file_durably(const std::filesystem::path& path, std::size_t keep, std::string_view bytes);

/// Creates `folder` and its parents when absent. Throws mystyle::Error (kIo) naming the folder and
/// why (e.g. "Permission denied" in a read-only workspace), never std::filesystem_error.
void create_folder(const std::filesystem::path& folder);

/// Reads a whole file. Throws kNotFound when it cannot be opened, kTooLarge past `max_bytes`.
std::string read_file_bytes(const std::filesystem::path& path, std::size_t max_bytes = SIZE_MAX);

/// (inode, size, modification time in ns) of `path`, all -1 when it cannot be read: it changes whenever
/// the file is rewritten or replaced (write_file_atomic renames a new file over it).
std::array<std::int64_t, 3> file_stamp(const std::filesystem::path& path);

/// 64-bit FNV-1a of `bytes`: the checksum of the project's file formats.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ull);

/// splitmix64's finaliser: a well-mixed 64-bit hash of one number (seeded splits by id).
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Hands the heap's free pages back to the system (glibc's malloc_trim; nothing elsewhere): after a
/// start's temporary buffers (a full pull of a shared catalog, the index sync) are freed, they would
/// otherwise stay in the process's resident memory. Returns the bytes of free heap it could not give
/// back (0 where unknown).
std::size_t release_free_heap();

/// A read-only memory map of a whole file; the bytes stay valid while the object lives. Movable.
class MappedFile {
 public:
  MappedFile() = default;
  /// Throws mystyle::Error (kNotFound / kIo) naming the file.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  /// Drops the mapping's pages from this process's resident memory (madvise MADV_DONTNEED): the file's
  /// pages stay in the page cache and come back on the next touch. For a mapping read once whole (a
  /// checksum) and then only here and there.
  void release_resident() const;

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// An exclusive advisory lock (flock) on `path`, created when absent, held while the object lives:
/// what serialises the workspace's read-modify-write edits (embeddings, views) across processes
/// (`mystyle embed`, a server's admin API). Blocks until the lock is free. Throws kIo naming the file.
/// The kernel drops the lock when its holder dies, so a killed writer never blocks the next.
/// Where the lock file cannot be created for lack of permission (a read-only workspace), no lock is
/// taken: the caller's own write then fails with an error naming its file.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace mystyle

