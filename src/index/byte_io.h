#pragma once
// Private: the checksummed binary container of index files (format in index_io.h).
#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::index::detail {

/// FNV-1a 64 over `bytes`, continuing from `hash`.
inline std::uint64_t fnv1a64(std::span<const std::uint8_t> bytes,
                             std::uint64_t hash = 0xcbf29ce484222325ull) {
  for (std::uint8_t b : bytes) {
    hash ^= b;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

/// Appends plain values and arrays to a byte buffer (host byte order: little-endian on x86-64).
class ByteWriter {
 public:
  ByteWriter() { bytes_.reserve(4096); }
  template <typename T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    put_bytes(&value, sizeof(T));
  }
  template <typename T>
  void put_array(std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(values.size());
    put_bytes(values.data(), values.size_bytes());
  }
  void put_bytes(const void* data, std::size_t size) {
    if (size == 0) return;
    const std::size_t old = bytes_.size();
    bytes_.resize(old + size);
    std::memcpy(bytes_.data() + old, data, size);
  }
  std::vector<std::uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

/// Reads what ByteWriter wrote; running past the end or an implausible array length throws
/// mystyle::Error (kCorrupt) naming `where` (the file).
class ByteReader {
 public:
  ByteReader(std::span<const std::uint8_t> bytes, std::string where)
      : bytes_(bytes), where_(std::move(where)) {}

  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  template <typename T>
  std::vector<T> get_array() {
    const auto count = get<std::uint64_t>();
    if (count > remaining() / sizeof(T)) fail(fmt::format("array of {} elements runs past the end", count));
    std::vector<T> values(count);
    std::memcpy(values.data(), take(count * sizeof(T)), count * sizeof(T));
    return values;
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: corrupt index file: {}", where_, what), ErrorKind::kCorrupt);
  }

 private:
  const std::uint8_t* take(std::size_t size) {
    if (size > remaining()) fail("unexpected end of data");
    const std::uint8_t* p = bytes_.data() + pos_;
    pos_ += size;
    return p;
  }
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  std::string where_;
};

}  // namespace mystyle::index::detail
