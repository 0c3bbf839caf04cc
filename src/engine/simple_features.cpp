#include "mystyle/engine/simple_features.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/image/crop.h"
#include "mystyle/image/decode.h"

namespace mystyle::engine {
namespace {

constexpr char kMagic[8] = {'M', 'S', 'T', 'Y', 'E', 'V', 'F', '1'};
constexpr std::uint32_t kVersion = 2;

struct Header {
  char magic[8];
  std::uint32_t version, grey_dim, colour_dim, hsv_dim;
  std::uint64_t count, key, payload_hash;
};

/// What the cache depends on: the feature layout and each item's id and photo (path, size, time).
std::uint64_t cache_key(std::span<const catalog::Item* const> items) {
  std::string text = fmt::format("v{} {} {} {} {}\n", kVersion, image::kThumbSidePx, image::kHsvDim,
                                 image::kMaskThreshold, items.size());
  for (const catalog::Item* item : items) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(*item->image_path, ec);
    const auto time = std::filesystem::last_write_time(*item->image_path, ec).time_since_epoch().count();
    text += fmt::format("{} {} {} {}\n", item->id, *item->image_path, ec ? 0 : size, ec ? 0 : time);
  }
  return fnv1a64(text);
}

template <typename T>
void append(std::string& out, const std::vector<T>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

bool read_cache(const std::filesystem::path& path, std::uint64_t key, SimpleFeatures& f) {
  if (!std::filesystem::exists(path)) return false;
  const std::string bytes = read_file_bytes(path);
  Header h{};
  if (bytes.size() < sizeof h) return false;
  std::memcpy(&h, bytes.data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion ||
      h.grey_dim != image::kGreyDim || h.colour_dim != image::kColourDim || h.hsv_dim != image::kHsvDim) {
    spdlog::warn("{}: not a feature cache of this version; recomputing", path.string());
    return false;
  }
  if (h.key != key) return false;  // items or photos changed
  const std::size_t n = h.count;
  // Division, not multiplication: a huge count once wrapped the product around to the file's real
  // size, passed, and failed allocating with std::length_error (found by fuzz/simple_features_fuzzer).
  constexpr std::size_t kRowBytes = 8 + 4 * (image::kGreyDim + image::kColourDim + image::kHsvDim);
  const std::size_t payload = bytes.size() - sizeof h;
  if (payload % kRowBytes != 0 || payload / kRowBytes != n ||
      fnv1a64(std::string_view(bytes).substr(sizeof h)) != h.payload_hash) {
    spdlog::warn("{}: corrupt (size or checksum); recomputing", path.string());
    return false;
  }
  const char* p = bytes.data() + sizeof h;
  auto take = [&](auto& v, std::size_t count) {
    v.resize(count);
    if (count == 0) return;  // an empty vector's data() may be null: memcpy on it is undefined (UBSan)
    std::memcpy(v.data(), p, count * sizeof(v[0]));
    p += count * sizeof(v[0]);
  };
  take(f.ids, n);
  take(f.grey, n * image::kGreyDim);
  take(f.colour, n * image::kColourDim);
  take(f.hsv, n * image::kHsvDim);
  f.from_cache = true;
  return true;
}

}  // namespace

std::vector<float> SimpleFeatures::colour_plus_hsv() const {
  constexpr std::size_t kDim = image::kColourDim + image::kHsvDim;
  std::vector<float> out(size() * kDim);
  for (std::size_t i = 0; i < size(); ++i) {
    image::colour_plus_hsv_into({colour.data() + i * image::kColourDim, image::kColourDim},
                                {hsv.data() + i * image::kHsvDim, image::kHsvDim},
                                {out.data() + i * kDim, kDim});
  }
  return out;
}

std::vector<float> SimpleFeatures::centred_colour_plus_hsv() const {
  constexpr std::size_t kDim = image::kColourDim + image::kHsvDim;
  std::vector<float> out(size() * kDim);
  for (std::size_t i = 0; i < size(); ++i) {
    image::centred_colour_plus_hsv_into({colour.data() + i * image::kColourDim, image::kColourDim},
                                        {hsv.data() + i * image::kHsvDim, image::kHsvDim},
                                        {out.data() + i * kDim, kDim});
  }
  return out;
}

SimpleFeatures load_simple_features(const std::filesystem::path& workspace,
                                    std::span<const catalog::Item> items, int threads) {
  std::vector<const catalog::Item*> wanted;
  for (const auto& item : items) {
    if (item.image_path) wanted.push_back(&item);
  }
  std::ranges::sort(wanted, {}, &catalog::Item::id);
  const std::uint64_t key = cache_key(wanted);
  const auto path = workspace / "cache" / fmt::format("eval-features-v{}.bin", kVersion);
  SimpleFeatures f;
  if (read_cache(path, key, f)) return f;

  const std::size_t n = wanted.size();
  std::vector<float> grey(n * image::kGreyDim), colour(n * image::kColourDim), hsv(n * image::kHsvDim);
  std::vector<char> ok(n, 0);
  std::mutex warnings_mutex;
  std::atomic<std::size_t> next{0};
  Progress progress("computing simple image features", static_cast<std::int64_t>(n), "images");
  auto work = [&] {
    for (std::size_t i; (i = next++) < n;) {
      try {
        // Half-size JPEG decoding is plenty for 16x16 thumbnails and colour statistics.
        const cv::Mat rgb = image::read_image(*wanted[i]->image_path, {}, image::kColourDecodeMinSidePx);
        image::compute_simple_features(rgb, {grey.data() + i * image::kGreyDim, image::kGreyDim},
                                       {colour.data() + i * image::kColourDim, image::kColourDim},
                                       {hsv.data() + i * image::kHsvDim, image::kHsvDim});
        ok[i] = 1;
      } catch (const Error& e) {
        std::lock_guard lock(warnings_mutex);
        f.warnings.push_back(fmt::format("item {}: {}", wanted[i]->id, e.what()));
      }
      progress.advance();
    }
  };
  {
    std::vector<std::jthread> workers;
    for (int w = 0; w < std::max(1, threads); ++w) workers.emplace_back(work);
  }
  progress.finish();
  for (std::size_t i = 0; i < n; ++i) {
    if (!ok[i]) continue;
    f.ids.push_back(wanted[i]->id);
    f.grey.insert(f.grey.end(), grey.begin() + i * image::kGreyDim, grey.begin() + (i + 1) * image::kGreyDim);
    f.colour.insert(f.colour.end(), colour.begin() + i * image::kColourDim,
                    colour.begin() + (i + 1) * image::kColourDim);
    f.hsv.insert(f.hsv.end(), hsv.begin() + i * image::kHsvDim, hsv.begin() + (i + 1) * image::kHsvDim);
  }
  std::string payload;
  append(payload, f.ids);
  append(payload, f.grey);
  append(payload, f.colour);
  append(payload, f.hsv);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.grey_dim = image::kGreyDim;
  h.colour_dim = image::kColourDim;
  h.hsv_dim = image::kHsvDim;
  h.count = f.ids.size();
  h.key = key;
  h.payload_hash = fnv1a64(payload);
  std::string file(reinterpret_cast<const char*>(&h), sizeof h);
  file += payload;
  write_file_atomic(path, file);
  return f;
}

}  // namespace mystyle::engine
