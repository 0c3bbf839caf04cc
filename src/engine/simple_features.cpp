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
  std::string text =
      fmt::format("v{} {} {} {} {}\n", kVersion, kThumbSidePx, kHsvDim, kMaskThreshold, items.size());
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
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion || h.grey_dim != kGreyDim ||
      h.colour_dim != kColourDim || h.hsv_dim != kHsvDim) {
    spdlog::warn("{}: not a feature cache of this version; recomputing", path.string());
    return false;
  }
  if (h.key != key) return false;  // items or photos changed
  const std::size_t n = h.count;
  // Division, not multiplication: a huge count once wrapped the product around to the file's real
  // size, passed, and failed allocating with std::length_error (found by fuzz/simple_features_fuzzer).
  constexpr std::size_t kRowBytes = 8 + 4 * (kGreyDim + kColourDim + kHsvDim);
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
  take(f.grey, n * kGreyDim);
  take(f.colour, n * kColourDim);
  take(f.hsv, n * kHsvDim);
  f.from_cache = true;
  return true;
}

void normalise_into(std::span<const float> in, std::span<float> out) {
  double sq = 0;
  for (float v : in) sq += double(v) * v;
  const float scale = sq > 0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0f;
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = in[i] * scale;
}

/// `in` minus its mean, scaled to length `length` (all zeros when constant).
void centre_into(std::span<const float> in, std::span<float> out, double length) {
  double mean = 0;
  for (float v : in) mean += v;
  mean /= static_cast<double>(in.size());
  double sq = 0;
  for (float v : in) sq += (v - mean) * (v - mean);
  const double scale = sq > 0 ? length / std::sqrt(sq) : 0.0;
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>((in[i] - mean) * scale);
}

}  // namespace

void compute_simple_features(const cv::Mat& rgb, std::span<float> grey, std::span<float> colour,
                             std::span<float> hsv) {
  if (grey.size() != kGreyDim || colour.size() != kColourDim || hsv.size() != kHsvDim) {
    throw Error("compute_simple_features: wrongly sized output spans");
  }
  const image::CropBox b = image::find_object_box(rgb, image::CropOptions{});
  cv::Mat thumb, thumb_grey;
  // The whole photo, squeezed: the catalog shoots every product at one scale, so where the object
  // ends in the frame tells its size (a long coat from a top), a cue the object crop removes.
  cv::resize(rgb, thumb, cv::Size(kThumbSidePx, kThumbSidePx), 0, 0, cv::INTER_AREA);
  cv::cvtColor(thumb, thumb_grey, cv::COLOR_RGB2GRAY);
  for (int y = 0; y < kThumbSidePx; ++y) {
    for (int x = 0; x < kThumbSidePx; ++x) {
      const auto& px = thumb.at<cv::Vec3b>(y, x);
      const std::size_t i = static_cast<std::size_t>(y * kThumbSidePx + x);
      grey[i] = thumb_grey.at<std::uint8_t>(y, x) / 255.0f;
      for (int c = 0; c < 3; ++c) colour[i * 3 + static_cast<std::size_t>(c)] = px[c] / 255.0f;
    }
  }

  // Histogram of the object's pixels: inside the object box and unlike the background. A white
  // garment on the off-white background may leave almost nothing; then the whole box counts.
  const cv::Rect box = cv::Rect(b.x, b.y, b.width, b.height) & cv::Rect(0, 0, rgb.cols, rgb.rows);
  const cv::Mat region = rgb(box);
  const cv::Vec3b bg = image::estimate_background(rgb);
  cv::Mat hsv_img;
  cv::cvtColor(region, hsv_img, cv::COLOR_RGB2HSV);  // H 0..179, S and V 0..255
  std::fill(hsv.begin(), hsv.end(), 0.0f);
  auto bin_of = [](const cv::Vec3b& h) {
    const int hb = std::min(kHueBins - 1, h[0] * kHueBins / 180);
    const int sb = h[1] * kSatBins / 256, vb = h[2] * kValBins / 256;
    return static_cast<std::size_t>((hb * kSatBins + sb) * kValBins + vb);
  };
  std::size_t counted = 0;
  for (int pass = 0; pass < 2 && counted * 20 < static_cast<std::size_t>(box.area()); ++pass) {
    std::fill(hsv.begin(), hsv.end(), 0.0f);
    counted = 0;
    for (int y = 0; y < region.rows; ++y) {
      for (int x = 0; x < region.cols; ++x) {
        const auto& px = region.at<cv::Vec3b>(y, x);
        const bool object = std::abs(px[0] - bg[0]) > kMaskThreshold ||
                            std::abs(px[1] - bg[1]) > kMaskThreshold ||
                            std::abs(px[2] - bg[2]) > kMaskThreshold;
        if (pass == 0 && !object) continue;
        hsv[bin_of(hsv_img.at<cv::Vec3b>(y, x))] += 1.0f;
        ++counted;
      }
    }
  }
  if (counted > 0) {
    for (float& v : hsv) v /= static_cast<float>(counted);
  }
}

std::vector<float> SimpleFeatures::colour_plus_hsv() const {
  constexpr std::size_t kDim = kColourDim + kHsvDim;
  std::vector<float> out(size() * kDim);
  for (std::size_t i = 0; i < size(); ++i) {
    normalise_into({colour.data() + i * kColourDim, kColourDim}, {out.data() + i * kDim, kColourDim});
    normalise_into({hsv.data() + i * kHsvDim, kHsvDim}, {out.data() + i * kDim + kColourDim, kHsvDim});
  }
  return out;
}

void centred_colour_plus_hsv_into(std::span<const float> colour, std::span<const float> hsv, std::span<float> out) {
  if (colour.size() != kColourDim || hsv.size() != kHsvDim || out.size() != kColourDim + kHsvDim) {
    throw Error("centred_colour_plus_hsv: wrongly sized spans");
  }
  centre_into(colour, out.first(kColourDim), 1.0);
  centre_into(hsv, out.subspan(kColourDim), kCentredHsvWeight);
}

std::vector<float> SimpleFeatures::centred_colour_plus_hsv() const {
  constexpr std::size_t kDim = kColourDim + kHsvDim;
  std::vector<float> out(size() * kDim);
  for (std::size_t i = 0; i < size(); ++i) {
    centred_colour_plus_hsv_into({colour.data() + i * kColourDim, kColourDim}, {hsv.data() + i * kHsvDim, kHsvDim},
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
  std::vector<float> grey(n * kGreyDim), colour(n * kColourDim), hsv(n * kHsvDim);
  std::vector<char> ok(n, 0);
  std::mutex warnings_mutex;
  std::atomic<std::size_t> next{0};
  Progress progress("computing simple image features", static_cast<std::int64_t>(n), "images");
  auto work = [&] {
    for (std::size_t i; (i = next++) < n;) {
      try {
        // Half-size JPEG decoding is plenty for 16x16 thumbnails and colour statistics.
        const cv::Mat rgb = image::read_image(*wanted[i]->image_path, {}, /*min_side_px=*/96);
        compute_simple_features(rgb, {grey.data() + i * kGreyDim, kGreyDim},
                                {colour.data() + i * kColourDim, kColourDim},
                                {hsv.data() + i * kHsvDim, kHsvDim});
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
    f.grey.insert(f.grey.end(), grey.begin() + i * kGreyDim, grey.begin() + (i + 1) * kGreyDim);
    f.colour.insert(f.colour.end(), colour.begin() + i * kColourDim, colour.begin() + (i + 1) * kColourDim);
    f.hsv.insert(f.hsv.end(), hsv.begin() + i * kHsvDim, hsv.begin() + (i + 1) * kHsvDim);
  }
  std::string payload;
  append(payload, f.ids);
  append(payload, f.grey);
  append(payload, f.colour);
  append(payload, f.hsv);
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.grey_dim = kGreyDim;
  h.colour_dim = kColourDim;
  h.hsv_dim = kHsvDim;
  h.count = f.ids.size();
  h.key = key;
  h.payload_hash = fnv1a64(payload);
  std::string file(reinterpret_cast<const char*>(&h), sizeof h);
  file += payload;
  write_file_atomic(path, file);
  return f;
}

}  // namespace mystyle::engine
