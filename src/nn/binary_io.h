#pragma once
// Little-endian binary writer/reader for model files. The reader throws mystyle::Error (kCorrupt)
// naming the file on any read past the end.
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::nn::detail {

static_assert(std::endian::native == std::endian::little, "model files are little-endian");

class ByteWriter {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&value);
    bytes_.append(p, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    bytes_.append(s);
  }
  void put_floats(const std::vector<float>& v) {
    put<std::uint64_t>(v.size());
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string context) : bytes_(bytes), context_(std::move(context)) {}
  template <typename T>
  T get() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint32_t>();
    return std::string(take(n), n);
  }
  /// Reads a float vector whose length must be `expected`.
  void get_floats_into(std::vector<float>& out, const std::string& what) {
    const auto n = get<std::uint64_t>();
    if (n != out.size()) {
      throw Error(context_ + ": " + what + " has " + std::to_string(n) + " values, expected " +
                      std::to_string(out.size()),
                  ErrorKind::kCorrupt);
    }
    std::memcpy(out.data(), take(n * sizeof(float)), n * sizeof(float));
  }
  bool at_end() const { return pos_ == bytes_.size(); }
  const std::string& context() const { return context_; }

 private:
  const char* take(std::size_t n) {
    if (n > bytes_.size() - pos_) throw Error(context_ + ": truncated", ErrorKind::kCorrupt);
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::string_view bytes_;
  std::string context_;
  std::size_t pos_ = 0;
};

}  // namespace mystyle::nn::detail
