#include "mystyle/core/file_io.h"

#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "mystyle/core/error.h"

namespace mystyle {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Removes `<name>.tmp-<pid>-<n>` files beside `path` whose writer process is gone (killed in the
// middle of a write): nothing reads them, but they should not pile up. A live writer's are kept.
void remove_orphaned_temporaries(const std::filesystem::path& path) {
  std::error_code ec;
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const std::string prefix = path.filename().string() + ".tmp-";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    pid_t pid = 0;
    try {
      pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
    } catch (const std::exception&) {
      continue;
    }
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

void create_folder(const std::filesystem::path& folder) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw Error(fmt::format("{}: cannot create folder: {}", folder.string(), ec.message()), ErrorKind::kIo);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  static std::atomic<unsigned> counter{0};
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    // Say why the folder is missing (e.g. a read-only workspace), not the open's ENOENT below.
    if (ec) {
      throw Error(fmt::format("{}: cannot write (creating folder {}): {}; the previous file is unchanged",
                              path.string(), path.parent_path().string(), ec.message()),
                  ErrorKind::kIo);
    }
  }
  remove_orphaned_temporaries(path);
  auto tmp = path;
  tmp += fmt::format(".tmp-{}-{}", ::getpid(), counter++);
  {
    Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (out.fd < 0) {
      throw Error(fmt::format("{}: cannot write (creating {}): {}; the previous file is unchanged", path.string(),
                              tmp.filename().string(), std::strerror(errno)),
                  ErrorKind::kIo);
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(out.fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = std::strerror(errno);
        std::filesystem::remove(tmp, ec);
        throw Error(fmt::format("{}: cannot write: {} (after {} of {} bytes); the previous file is unchanged",
                                path.string(), why, done, bytes.size()),
                    ErrorKind::kIo);
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(out.fd) != 0) {
      const std::string why = std::strerror(errno);
      std::filesystem::remove(tmp, ec);
      throw Error(fmt::format("{}: cannot flush to disk: {}; the previous file is unchanged", path.string(), why),
                  ErrorKind::kIo);
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw Error(fmt::format("{}: cannot replace: {}", path.string(), ec.message()), ErrorKind::kIo);
  }
}

void append_file_durably(const std::filesystem::path& path, std::size_t keep, std::string_view bytes) {
  std::error_code ec;
  const bool is_new = !std::filesystem::exists(path, ec);
  Fd out{::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
  auto fail = [&](const char* doing) {
    return Error(fmt::format("{}: cannot {}: {}", path.string(), doing, std::strerror(errno)), ErrorKind::kIo);
  };
  if (out.fd < 0) throw fail("open for appending");
  if (::ftruncate(out.fd, static_cast<off_t>(keep)) != 0) throw fail("cut off a torn record");
  if (::lseek(out.fd, static_cast<off_t>(keep), SEEK_SET) < 0) throw fail("seek");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(out.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const Error e = fail("append");
      if (::ftruncate(out.fd, static_cast<off_t>(keep)) != 0) {  // leave no half record behind
      }
      throw e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(out.fd) != 0) throw fail("flush to disk");
  if (is_new && path.has_parent_path()) {
    Fd dir{::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir.fd >= 0) (void)::fsync(dir.fd);
  }
}

std::string read_file_bytes(const std::filesystem::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(fmt::format("{}: cannot open file", path.string()), ErrorKind::kNotFound);
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size > max_bytes) {
    throw Error(fmt::format("{}: {} bytes is over the limit of {}", path.string(), size, max_bytes),
                ErrorKind::kTooLarge);
  }
  std::string bytes(size, '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    throw Error(fmt::format("{}: read failed", path.string()), ErrorKind::kIo);
  }
  return bytes;
}

std::array<std::int64_t, 3> file_stamp(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {-1, -1, -1};
  return {static_cast<std::int64_t>(st.st_ino), static_cast<std::int64_t>(st.st_size),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

MappedFile::MappedFile(const std::filesystem::path& path) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw Error(fmt::format("{}: cannot open file", path.string()), ErrorKind::kNotFound);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) throw Error(fmt::format("{}: cannot stat", path.string()), ErrorKind::kIo);
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ == 0) return;
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, file.fd, 0);
  if (p == MAP_FAILED) throw Error(fmt::format("{}: cannot map: {}", path.string(), std::strerror(errno)), ErrorKind::kIo);
  data_ = static_cast<const std::uint8_t*>(p);
}

std::size_t release_free_heap() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
  const struct mallinfo2 info = ::mallinfo2();
  return info.fordblks;
#else
  return 0;
#endif
}

void MappedFile::release_resident() const {
  if (data_ != nullptr) (void)::madvise(const_cast<std::uint8_t*>(data_), size_, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

FileLock::FileLock(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  // A workspace this process may not write: nothing it does there can race, and the write that
  // follows fails with its own error naming its own file.
  // (ENOENT: its folder could not be made, for the same reason.)
  if (fd_ < 0 && (errno == EACCES || errno == EROFS || errno == EPERM || errno == ENOENT)) return;
  if (fd_ < 0) throw Error(fmt::format("{}: cannot open lock file: {}", path.string(), std::strerror(errno)), ErrorKind::kIo);
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd_);
    throw Error(fmt::format("{}: cannot lock: {}", path.string(), std::strerror(err)), ErrorKind::kIo);
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace mystyle

