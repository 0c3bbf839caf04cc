#include "mystyle/server/thumbnail_cache.h"

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::server {

std::shared_ptr<const std::string> ThumbnailCache::get_or_make(const std::string& key,
                                                               const std::function<std::string()>& make) {
  {
    std::lock_guard lock(mutex_);
    if (const auto it = by_key_.find(key); it != by_key_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++hits_;
      return it->second->bytes;
    }
    ++misses_;
  }
  auto bytes = std::make_shared<const std::string>(make());  // outside the lock: decoding takes milliseconds
  std::lock_guard lock(mutex_);
  if (bytes->size() > max_bytes_ || by_key_.contains(key)) return bytes;
  lru_.push_front({key, bytes});
  by_key_[key] = lru_.begin();
  bytes_ += bytes->size();
  while (bytes_ > max_bytes_) {
    bytes_ -= lru_.back().bytes->size();
    by_key_.erase(lru_.back().key);
    lru_.pop_back();
  }
  return bytes;
}

std::size_t ThumbnailCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}
std::size_t ThumbnailCache::entries() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}
std::uint64_t ThumbnailCache::hits() const {
  std::lock_guard lock(mutex_);
  return hits_;
}
std::uint64_t ThumbnailCache::misses() const {
  std::lock_guard lock(mutex_);
  return misses_;
}

std::string make_jpeg_thumbnail(const std::filesystem::path& path, int side_px,
                                const image::DecodeLimits& limits) {
  // A reduced JPEG decode to at least side_px is much faster than a full decode of a product shot.
  const cv::Mat rgb = image::read_image(path, limits, side_px);
  const int longer = std::max(rgb.cols, rgb.rows);
  cv::Mat scaled = rgb;
  if (longer > side_px) {
    const double f = double(side_px) / longer;
    cv::resize(rgb, scaled,
               cv::Size(std::max(1, int(rgb.cols * f + 0.5)), std::max(1, int(rgb.rows * f + 0.5))), 0, 0,
               cv::INTER_AREA);
  }
  cv::Mat bgr;
  cv::cvtColor(scaled, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> jpeg;
  if (!cv::imencode(".jpg", bgr, jpeg,
                    {cv::IMWRITE_JPEG_QUALITY, /*quality=*/84, cv::IMWRITE_JPEG_PROGRESSIVE, 1})) {
    throw Error(path.string() + ": could not encode a thumbnail", ErrorKind::kIo);
  }
  return {jpeg.begin(), jpeg.end()};
}

}  // namespace mystyle::server
