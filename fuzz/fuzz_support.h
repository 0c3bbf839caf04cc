#pragma once
// Shared by the fuzz targets: a per-process scratch folder, writing an input to a file, the rule
// that only mystyle::Error may escape a parser, and checksum repair so mutated inputs reach the
// parsing behind a format's checksum.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"

namespace mystyle::fuzz {

/// This process's scratch folder (created on first use under $TMPDIR, else /dev/shm when it is
/// writable, else /tmp; removed at exit). Each libFuzzer worker (-jobs, -fork) is its own process,
/// so workers never share files.
const std::filesystem::path& scratch_dir();

/// Writes `bytes` to `path` (plain write: the parsers under test read it back at once).
void write_file(const std::filesystem::path& path, std::string_view bytes);

/// Removes everything inside the scratch folder (between inputs).
void clear_scratch();

/// Runs `parse`. A mystyle::Error is the expected answer to a bad input; any other exception is a
/// bug in the code under test: it is printed with its type and the process aborts, which libFuzzer
/// reports as a crash and saves the input.
template <typename Parse>
void expect_only_mystyle_errors(Parse&& parse) {
  try {
    parse();
  } catch (const Error&) {
    // a clear error for a bad input: what the contract asks for
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FUZZ BUG: %s escaped (expected mystyle::Error): %s\n", typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "FUZZ BUG: a non-std exception escaped (expected mystyle::Error)\n");
    std::abort();
  }
}

/// Aborts with `what` when `ok` is false: a property violation counts as a crash.
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FUZZ BUG: %s\n", what);
    std::abort();
  }
}

/// Splits `data` at each occurrence of `separator` (the seeds join several files with it).
std::vector<std::string_view> split_parts(std::string_view data, std::string_view separator);

/// Separator between the files of a multi-file input (items CSV, outfits CSV; model, JSON).
inline constexpr std::string_view kFileSeparator = "\n--next-file--\n";

template <typename T>
void store_le(std::string& bytes, std::size_t offset, T value) {
  if (offset + sizeof(T) <= bytes.size()) std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace mystyle::fuzz
