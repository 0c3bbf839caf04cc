#include "mystyle/engine/photo_views.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <opencv2/imgproc.hpp>
#include <thread>
#include <unordered_map>

#include "mystyle/catalog/catalog.h"
#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/core/progress.h"
#include "mystyle/core/threads.h"
#include "mystyle/image/decode.h"
#include "mystyle/image/preprocess.h"
#include "mystyle/nn/context.h"

namespace mystyle::engine {
namespace {

constexpr std::size_t kEncodeBatch = 64;

}  // namespace

cv::Mat edited_view(const cv::Mat& rgb, int view) {
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error("edited_view: expected a CV_8UC3 RGB image");
  cv::Mat out;
  switch (view) {
    case 1:
    case 2: {
      const cv::Point2f centre(static_cast<float>(rgb.cols) / 2.0f, static_cast<float>(rgb.rows) / 2.0f);
      const cv::Mat m = cv::getRotationMatrix2D(centre, view == 1 ? 5.0 : -5.0, 1.0);
      cv::warpAffine(rgb, out, m, rgb.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
      return out;
    }
    case 3:
      rgb.convertTo(out, -1, 1.15, 10.0);  // saturating
      return out;
    default:
      throw Error(fmt::format("edited_view: no view {} (1..{})", view, kEditedViews));
  }
}

const char* view_name(int view) {
  switch (view) {
    case 0:
      return "photo";
    case 1:
      return "tilted +5";
    case 2:
      return "tilted -5";
    case 3:
      return "brighter";
    default:
      return "?";
  }
}

std::filesystem::path views_file(const Workspace& workspace, const std::string& model,
                                 nn::LatentPooling pooling) {
  return workspace.embeddings_file(model, pooling_name(pooling) + "-views");
}

EmbedReport embed_catalog_views(const Workspace& workspace, const std::string& model_name,
                                nn::LatentPooling pooling, int threads) {
  const auto start = std::chrono::steady_clock::now();
  // The admin API's edits merge rows into the same files: one writer at a time.
  const FileLock lock(workspace.write_lock_file());
  threads = thread_count(threads);
  nn::set_num_threads(threads);
  auto [model, model_hash] = load_embedding_model(workspace, model_name);
  image::PreprocessOptions preprocess;
  preprocess.image_side_px = model.spec().image_side_px;
  const std::size_t image_floats =
      static_cast<std::size_t>(3 * preprocess.image_side_px * preprocess.image_side_px);

  EmbedReport report;
  report.path = views_file(workspace, model_name, pooling);
  report.dim = model.feature_size(pooling);
  Embeddings previous;
  std::unordered_map<std::int64_t, std::size_t> previous_row;
  if (std::filesystem::exists(report.path)) {
    previous = load_embeddings(report.path);
    if (previous.model_hash == model_hash && previous.dim == report.dim && previous.pooling == pooling) {
      for (std::size_t i = 0; i < previous.size(); ++i) previous_row.emplace(previous.ids[i], i);
    }
  }

  catalog::Catalog cat(workspace.root());
  std::vector<catalog::Item> todo;
  Embeddings out;
  out.dim = report.dim;
  out.model_hash = model_hash;
  out.pooling = pooling;
  for (const auto& item : cat.all_items()) {
    if (!item.image_path) continue;
    bool all_known = true;
    for (int v = 1; v <= kEditedViews; ++v)
      all_known = all_known && previous_row.contains(view_id(item.id, v));
    if (!all_known) {
      todo.push_back(item);
      continue;
    }
    for (int v = 1; v <= kEditedViews; ++v) {
      out.ids.push_back(view_id(item.id, v));
      const auto row = previous.row(previous_row.at(view_id(item.id, v)));
      out.vectors.insert(out.vectors.end(), row.begin(), row.end());
    }
  }

  Progress progress("encoding item views", static_cast<std::int64_t>(todo.size() * kEditedViews), "images");
  std::vector<float> chw, features;
  for (std::size_t first = 0; first < todo.size(); first += kEncodeBatch) {
    const std::size_t n = std::min(kEncodeBatch, todo.size() - first);
    chw.assign(n * kEditedViews * image_floats, 0.0f);
    std::vector<std::uint8_t> ok(n, 0);
    std::atomic<std::size_t> next{0};
    {
      std::vector<std::jthread> workers;
      for (int w = 0; w < threads; ++w) {
        workers.emplace_back([&] {
          for (std::size_t i; (i = next++) < n;) {
            try {
              const cv::Mat photo =
                  image::read_image(*todo[first + i].image_path, {}, image::decode_min_side_px(preprocess));
              for (int v = 1; v <= kEditedViews; ++v) {
                image::preprocess_into(
                    edited_view(photo, v), preprocess,
                    {chw.data() + (i * kEditedViews + static_cast<std::size_t>(v - 1)) * image_floats,
                     image_floats});
              }
              ok[i] = 1;
            } catch (const Error&) {
              // an unreadable photo has no views (embed_catalog reports it)
            }
          }
        });
      }
    }
    const std::size_t rows = n * kEditedViews;
    features.resize(rows * static_cast<std::size_t>(out.dim));
    model.encode(chw, static_cast<int>(rows), pooling, features);
    for (std::size_t i = 0; i < n; ++i) {
      if (!ok[i]) continue;
      for (int v = 1; v <= kEditedViews; ++v) {
        out.ids.push_back(view_id(todo[first + i].id, v));
        const auto begin =
            features.begin() +
            static_cast<std::ptrdiff_t>((i * kEditedViews + static_cast<std::size_t>(v - 1)) * out.dim);
        out.vectors.insert(out.vectors.end(), begin, begin + out.dim);
      }
      ++report.newly_encoded;
    }
    progress.advance(static_cast<std::int64_t>(rows));
  }
  progress.finish();
  // Ascending ids, as the Embeddings format promises.
  std::vector<std::size_t> order(out.ids.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::ranges::sort(order, [&](std::size_t a, std::size_t b) { return out.ids[a] < out.ids[b]; });
  Embeddings sorted = out;
  for (std::size_t i = 0; i < order.size(); ++i) {
    sorted.ids[i] = out.ids[order[i]];
    std::copy_n(out.vectors.begin() + static_cast<std::ptrdiff_t>(order[i] * out.dim), out.dim,
                sorted.vectors.begin() + static_cast<std::ptrdiff_t>(i * out.dim));
  }
  save_embeddings(report.path, sorted);
  report.items = sorted.size() / kEditedViews;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::optional<Embeddings> load_current_views(const Workspace& workspace, const std::string& model,
                                             const EmbeddingsView& items, std::string* stale) {
  const auto path = views_file(workspace, model, items.pooling);
  if (!std::filesystem::exists(path)) return std::nullopt;
  Embeddings views = load_embeddings(path);
  if (views.model_hash != items.model_hash || views.dim != items.dim) {
    if (stale)
      *stale = fmt::format("{}: made by another model or image pipeline; run `mystyle embed` again",
                           path.string());
    return std::nullopt;
  }
  return views;
}

std::vector<index::Neighbor> fold_views(std::span<const index::Neighbor> neighbors, std::size_t k,
                                        std::vector<int>* views) {
  std::vector<index::Neighbor> items;
  if (views) views->clear();
  for (const index::Neighbor& n : neighbors) {
    if (items.size() == k) break;
    const std::int64_t id = item_of_view(n.id);
    if (std::ranges::any_of(items, [id](const index::Neighbor& m) { return m.id == id; })) continue;
    items.push_back({id, n.score});
    if (views) views->push_back(static_cast<int>(n.id - view_id(id, 0)));
  }
  return items;
}

Embeddings merge_views(const EmbeddingsView& items, const EmbeddingsView& views) {
  if (items.dim != views.dim) {
    throw Error(fmt::format("views have {} numbers per row, the items {}", views.dim, items.dim),
                ErrorKind::kCorrupt);
  }
  Embeddings out;
  out.dim = items.dim;
  out.model_hash = items.model_hash;
  out.pooling = items.pooling;
  std::unordered_map<std::int64_t, std::size_t> view_row;
  for (std::size_t i = 0; i < views.size(); ++i) view_row.emplace(views.ids[i], i);
  auto append = [&](std::int64_t id, std::span<const float> row) {
    out.ids.push_back(id);
    out.vectors.insert(out.vectors.end(), row.begin(), row.end());
  };
  for (std::size_t i = 0; i < items.size(); ++i) {
    append(view_id(items.ids[i], 0), items.row(i));
    for (int v = 1; v <= kEditedViews; ++v) {
      if (auto it = view_row.find(view_id(items.ids[i], v)); it != view_row.end()) {
        append(it->first, views.row(it->second));
      }
    }
  }
  return out;
}

}  // namespace mystyle::engine
