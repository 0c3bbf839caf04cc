#include "fuzz_support.h"

#include <unistd.h>

#include <fstream>
#include <system_error>

namespace mystyle::fuzz {
namespace {

std::filesystem::path make_scratch_dir() {
  std::string base;
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
    base = tmp;
  } else if (::access("/dev/shm", W_OK) == 0) {
    base = "/dev/shm";  // memory-backed: SQLite catalogs and files per input cost less
  } else {
    base = "/tmp";
  }
  std::string pattern = base + "/mystyle-fuzz-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return pattern;
}

struct Scratch {
  std::filesystem::path path = make_scratch_dir();
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::filesystem::path& scratch_dir() {
  static const Scratch scratch;
  return scratch.path;
}

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  check(static_cast<bool>(out), "cannot write a scratch file");
}

void clear_scratch() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(scratch_dir(), ec)) {
    std::filesystem::remove_all(entry.path(), ec);
  }
}

std::vector<std::string_view> split_parts(std::string_view data, std::string_view separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = data.find(separator, start);
    if (at == std::string_view::npos) {
      parts.push_back(data.substr(start));
      return parts;
    }
    parts.push_back(data.substr(start, at - start));
    start = at + separator.size();
  }
}

}  // namespace mystyle::fuzz
