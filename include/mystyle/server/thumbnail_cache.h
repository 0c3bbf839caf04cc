#pragma once
/// Encoded thumbnails kept in memory, least recently used first out, bounded in bytes.
/// Thread-safe; a thumbnail being made is not locked against (two threads may make the same one).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "mystyle/image/decode.h"

namespace mystyle::server {

class ThumbnailCache {
 public:
  explicit ThumbnailCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  /// The cached bytes for `key`, or make() them, cache them (when they fit) and return them.
  /// Exceptions from make() propagate and nothing is cached.
  std::shared_ptr<const std::string> get_or_make(const std::string& key,
                                                 const std::function<std::string()>& make);

  std::size_t bytes() const;
  std::size_t entries() const;
  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const std::string> bytes;
  };
  std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  ///< most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> by_key_;
  std::size_t bytes_ = 0;
  std::uint64_t hits_ = 0, misses_ = 0;
};

/// Reads the photo at `path` (within `limits`), scales it so its longer side is at most `side_px`
/// (never up) and returns it as JPEG bytes. Throws mystyle::Error like image::read_image.
std::string make_jpeg_thumbnail(const std::filesystem::path& path, int side_px,
                                const image::DecodeLimits& limits);

}  // namespace mystyle::server
