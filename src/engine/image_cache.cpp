#include "mystyle/engine/image_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "mystyle/core/error.h"
#include "mystyle/core/progress.h"

namespace mystyle::engine {
namespace {

constexpr char kMagic[8] = {'M', 'S', 'T', 'Y', 'I', 'M', 'C', '1'};
constexpr std::uint32_t kVersion = 1;

#pragma pack(push, 1)
struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t side_px;
  std::uint64_t count;
  std::uint64_t options_hash;
  std::uint64_t checksum;  // FNV-1a of everything after the header
};
#pragma pack(pop)

}  // namespace

std::string pipeline_fingerprint(const image::PreprocessOptions& o) {
  // Every field that changes a cached pixel; bump the "pipeline" number when the code's output changes.
  return fmt::format(
      "pipeline=1 side={} gamma={:.6f} normalise={} reference={} crop={} edge={} line={} margin={:.6f} "
      "window={},{},{},{}{}",
      o.image_side_px, o.gamma, o.normalise_background, o.background_reference, static_cast<int>(o.crop.mode),
      o.crop.edge_threshold, o.crop.min_line_pixels, o.crop.margin_frac, o.crop.fixed_window.x,
      o.crop.fixed_window.y, o.crop.fixed_window.width, o.crop.fixed_window.height,
      o.paint_out_busy_background
          ? fmt::format(" busy={:.4f},{:.4f},{:.4f},{},{},{},{},{}", o.background.band_frac,
                        o.background.busy_edge_share, o.background.max_studio_share, o.background.segment_side_px,
                        o.background.segment_iterations, o.background.fill[0], o.background.fill[1],
                        o.background.fill[2])
          : std::string());
}

namespace {

std::size_t image_bytes(int side) {
  return static_cast<std::size_t>(side) * side * 3;
}

/// Existing cache rows by item id, when the file is valid and made with the same options.
std::unordered_map<std::int64_t, const std::uint8_t*> reusable_rows(const MappedFile& old,
                                                                    std::uint64_t options_hash, int side) {
  std::unordered_map<std::int64_t, const std::uint8_t*> rows;
  auto bytes = old.bytes();
  if (bytes.size() < sizeof(Header)) return rows;
  Header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  const std::size_t body = h.count * (sizeof(std::int64_t) + image_bytes(side));
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion ||
      h.options_hash != options_hash || h.side_px != static_cast<std::uint32_t>(side) ||
      bytes.size() != sizeof(Header) + body) {
    return rows;
  }
  const auto* payload = reinterpret_cast<const char*>(bytes.data() + sizeof(Header));
  if (fnv1a64({payload, body}) != h.checksum) return rows;
  const auto* ids = reinterpret_cast<const std::int64_t*>(payload);
  const auto* pixels = bytes.data() + sizeof(Header) + h.count * sizeof(std::int64_t);
  for (std::uint64_t i = 0; i < h.count; ++i) rows.emplace(ids[i], pixels + i * image_bytes(side));
  return rows;
}

}  // namespace

std::string ImageCache::file_name(const image::PreprocessOptions& options) {
  return fmt::format("images-{}px-{:016x}.bin", options.image_side_px,
                     fnv1a64(pipeline_fingerprint(options)));
}

ImageCache ImageCache::build(const std::filesystem::path& workspace, std::span<const catalog::Item> items,
                             const image::PreprocessOptions& options, int threads) {
  ImageCache cache;
  cache.side_ = options.image_side_px;
  cache.path_ = workspace / "cache" / file_name(options);
  const std::uint64_t options_hash = fnv1a64(pipeline_fingerprint(options));
  const std::size_t row_bytes = image_bytes(cache.side_);

  std::vector<const catalog::Item*> wanted;
  for (const catalog::Item& item : items) {
    if (item.image_path) wanted.push_back(&item);
  }
  std::ranges::sort(wanted, {}, &catalog::Item::id);

  MappedFile old;
  if (std::filesystem::exists(cache.path_)) old = MappedFile(cache.path_);
  const auto reuse = reusable_rows(old, options_hash, cache.side_);
  const bool complete =
      reuse.size() == wanted.size() &&
      std::ranges::all_of(wanted, [&](const catalog::Item* i) { return reuse.contains(i->id); });
  if (!complete) {
    // Preprocess what the old file lacks, in parallel; row i belongs to wanted[i].
    std::vector<std::uint8_t> pixels(wanted.size() * row_bytes);
    std::vector<char> ok(wanted.size(), 0);
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (auto it = reuse.find(wanted[i]->id); it != reuse.end()) {
        std::memcpy(pixels.data() + i * row_bytes, it->second, row_bytes);
        ok[i] = 1;
      } else {
        todo.push_back(i);
      }
    }
    cache.newly_built_ = todo.size();
    Progress progress("preprocessing item photos", static_cast<std::int64_t>(todo.size()), "images");
    std::atomic<std::size_t> next{0};
    std::mutex warnings_mutex;
    auto work = [&] {
      std::vector<float> chw(row_bytes);
      cv::Mat seen;
      for (std::size_t t; (t = next++) < todo.size();) {
        const std::size_t i = todo[t];
        try {
          const cv::Mat rgb =
              image::read_image(*wanted[i]->image_path, {}, image::decode_min_side_px(options));
          image::preprocess_into(rgb, options, chw, &seen);
          std::memcpy(pixels.data() + i * row_bytes, seen.ptr<std::uint8_t>(), row_bytes);
          ok[i] = 1;
        } catch (const Error& e) {
          std::lock_guard lock(warnings_mutex);
          cache.warnings_.push_back(fmt::format("item {}: {}", wanted[i]->id, e.what()));
        }
        progress.advance();
      }
    };
    std::vector<std::jthread> workers;
    for (int w = 0; w < std::max(1, threads); ++w) workers.emplace_back(work);
    workers.clear();  // joins
    progress.finish();

    std::vector<std::int64_t> ids;
    std::string body;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (ok[i]) ids.push_back(wanted[i]->id);
    }
    body.append(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(std::int64_t));
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (ok[i]) body.append(reinterpret_cast<const char*>(pixels.data() + i * row_bytes), row_bytes);
    }
    Header h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = kVersion;
    h.side_px = static_cast<std::uint32_t>(cache.side_);
    h.count = ids.size();
    h.options_hash = options_hash;
    h.checksum = fnv1a64(body);
    std::string file(reinterpret_cast<const char*>(&h), sizeof h);
    file += body;
    old = MappedFile();  // unmap before replacing
    write_file_atomic(cache.path_, file);
  }
  cache.file_ = MappedFile(cache.path_);
  Header h;
  std::memcpy(&h, cache.file_.bytes().data(), sizeof h);
  const auto* base = cache.file_.bytes().data() + sizeof(Header);
  cache.ids_ = {reinterpret_cast<const std::int64_t*>(base), h.count};
  cache.pixels_ = {base + h.count * sizeof(std::int64_t), h.count * row_bytes};
  return cache;
}

nn::ImageSet ImageCache::images() const {
  return nn::ImageSet::from_bytes(pixels_, static_cast<int>(ids_.size()), 3, side_, nn::PixelOrder::kHwc);
}

}  // namespace mystyle::engine
