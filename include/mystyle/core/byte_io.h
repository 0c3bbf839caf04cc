#pragma once
/// Little-endian binary writing and reading for the project's file formats (model, index). The
/// reader never reads past its bytes: a short or inconsistent file is a mystyle::Error (kCorrupt)
/// naming the file, never a crash.
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle {

static_assert(std::endian::native == std::endian::little, "file formats are little-endian");

class ByteWriter {
 public:
  template <typename T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void put_bytes(const void* data, std::size_t size) { bytes_.append(static_cast<const char*>(data), size); }
  /// u32 length, then the bytes.
  void put_string(std::string_view s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    bytes_.append(s);
  }
  /// u64 count, then the elements.
  template <typename T>
  void put_array(std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    put<std::uint64_t>(values.size());
    put_bytes(values.data(), values.size_bytes());
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  /// `context` starts every error message (e.g. "model file /path").
  ByteReader(std::string_view bytes, std::string context) : bytes_(bytes), context_(std::move(context)) {}

  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint32_t>();
    return std::string(take(n), n);
  }
  template <typename T>
  std::vector<T> get_array() {
    const auto count = get<std::uint64_t>();
    if (count > remaining() / sizeof(T)) fail("truncated: an array of " + std::to_string(count) + " runs past the end");
    std::vector<T> values(count);
    // An empty vector's data() may be null, and memcpy from or to null is undefined even for 0
    // bytes (UBSan, fuzz/index_fuzzer).
    if (count > 0) std::memcpy(values.data(), take(count * sizeof(T)), count * sizeof(T));
    return values;
  }
  /// Reads a float array whose length must equal out.size().
  void get_floats_into(std::vector<float>& out, const std::string& what) {
    const auto n = get<std::uint64_t>();
    if (n != out.size()) fail(what + " has " + std::to_string(n) + " values, expected " + std::to_string(out.size()));
    if (n > 0) std::memcpy(out.data(), take(n * sizeof(float)), n * sizeof(float));
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }
  const std::string& context() const { return context_; }
  [[noreturn]] void fail(const std::string& what) const { throw Error(context_ + ": " + what, ErrorKind::kCorrupt); }

 private:
  const char* take(std::size_t n) {
    if (n > remaining()) fail("truncated (unexpected end of data)");
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::string_view bytes_;
  std::string context_;
  std::size_t pos_ = 0;
};

}  // namespace mystyle
