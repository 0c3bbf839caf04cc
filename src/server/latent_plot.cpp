#include "mystyle/server/latent_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::server {
namespace {

constexpr int kWidth = 960, kHeight = 640;
constexpr int kLeft = 64, kTop = 56, kRight = kWidth - 250, kBottom = kHeight - 56;
constexpr std::size_t kMaxCategories = 11;

// Tableau 10 plus one, in BGR; "other" is grey.
const std::array<cv::Scalar, kMaxCategories> kPalette = {
    cv::Scalar(180, 119, 31),  cv::Scalar(14, 127, 255),  cv::Scalar(44, 160, 44),   cv::Scalar(40, 39, 214),
    cv::Scalar(189, 103, 148), cv::Scalar(75, 86, 140),   cv::Scalar(194, 119, 227), cv::Scalar(34, 189, 188),
    cv::Scalar(207, 190, 23),  cv::Scalar(127, 127, 127), cv::Scalar(0, 0, 0)};
const cv::Scalar kOther(200, 200, 200);
const cv::Scalar kInk(40, 40, 40);

void put_text(cv::Mat& img, const std::string& text, cv::Point at, double scale, const cv::Scalar& colour,
              int thickness = 1) {
  cv::putText(img, text, at, cv::FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv::LINE_AA);
}

}  // namespace

cv::Mat plot_latent_projection(const engine::Embeddings& embeddings, const recommend::OutfitGraph& graph) {
  const int n = static_cast<int>(embeddings.size());
  if (n < 3 || embeddings.dim < 2) {
    throw Error(
        fmt::format("a latent-space projection needs at least 3 embeddings of 2+ dimensions, not {}", n));
  }
  const cv::Mat data(n, embeddings.dim, CV_32F, const_cast<float*>(embeddings.vectors.data()));
  cv::PCA pca(data, cv::noArray(), cv::PCA::DATA_AS_ROW, /*maxComponents=*/2);
  const cv::Mat xy = pca.project(data);  // n x 2

  // Share of the total variance each component explains, for the axis labels.
  cv::Mat mean;
  cv::reduce(data, mean, 0, cv::REDUCE_AVG);
  double total_variance = 0;
  for (int j = 0; j < embeddings.dim; ++j) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
      const double d = data.at<float>(i, j) - mean.at<float>(0, j);
      s += d * d;
    }
    total_variance += s / std::max(1, n - 1);
  }
  auto share = [&](int c) {
    return c < pca.eigenvalues.rows && total_variance > 0
               ? 100.0 * pca.eigenvalues.at<float>(c) / total_variance
               : 0.0;
  };

  // The most common categories get colours, the rest are "other".
  std::vector<std::string> category(n);
  std::map<std::string, int> counts;
  for (int i = 0; i < n; ++i) {
    const catalog::Item* item = graph.item(embeddings.ids[i]);
    category[i] = item != nullptr && !item->category.empty() ? item->category : "(unknown)";
    ++counts[category[i]];
  }
  std::vector<std::pair<std::string, int>> ranked(counts.begin(), counts.end());
  std::ranges::stable_sort(ranked, [](const auto& a, const auto& b) { return a.second > b.second; });
  std::map<std::string, int> colour_of;
  for (std::size_t c = 0; c < ranked.size() && c < kMaxCategories; ++c)
    colour_of[ranked[c].first] = static_cast<int>(c);

  double min_x = xy.at<float>(0, 0), max_x = min_x, min_y = xy.at<float>(0, 1), max_y = min_y;
  for (int i = 0; i < n; ++i) {
    min_x = std::min<double>(min_x, xy.at<float>(i, 0));
    max_x = std::max<double>(max_x, xy.at<float>(i, 0));
    min_y = std::min<double>(min_y, xy.at<float>(i, 1));
    max_y = std::max<double>(max_y, xy.at<float>(i, 1));
  }
  const double span_x = std::max(max_x - min_x, 1e-9), span_y = std::max(max_y - min_y, 1e-9);
  auto to_px = [&](int i) {
    const double fx = (xy.at<float>(i, 0) - min_x) / span_x, fy = (xy.at<float>(i, 1) - min_y) / span_y;
    return cv::Point(kLeft + 8 + int(fx * (kRight - kLeft - 16)),
                     kBottom - 8 - int(fy * (kBottom - kTop - 16)));
  };

  cv::Mat img(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::Mat dots = img.clone();
  // Uncoloured points first, then the categories from the most common, so the rare ones stay visible.
  for (int i = 0; i < n; ++i) {
    if (!colour_of.contains(category[i])) cv::circle(dots, to_px(i), 3, kOther, cv::FILLED, cv::LINE_AA);
  }
  for (std::size_t c = 0; c < ranked.size() && c < kMaxCategories; ++c) {
    for (int i = 0; i < n; ++i) {
      if (category[i] == ranked[c].first) cv::circle(dots, to_px(i), 3, kPalette[c], cv::FILLED, cv::LINE_AA);
    }
  }
  cv::addWeighted(dots, 0.75, img, 0.25, 0, img);

  cv::rectangle(img, {kLeft, kTop}, {kRight, kBottom}, cv::Scalar(190, 190, 190), 1);
  put_text(img,
           fmt::format("Latent space: {} items, {}-d embeddings on their first two principal components", n,
                       embeddings.dim),
           {kLeft, 32}, 0.55, kInk, 1);
  put_text(img, fmt::format("PC1 ({:.1f}% of variance)", share(0)),
           {kLeft + (kRight - kLeft) / 2 - 90, kHeight - 20}, 0.5, kInk);
  cv::Mat label(24, 260, CV_8UC3, cv::Scalar(255, 255, 255));
  put_text(label, fmt::format("PC2 ({:.1f}% of variance)", share(1)), {4, 17}, 0.5, kInk);
  cv::rotate(label, label, cv::ROTATE_90_COUNTERCLOCKWISE);
  label.copyTo(img(cv::Rect(14, kTop + (kBottom - kTop) / 2 - 130, label.cols, label.rows)));

  int y = kTop + 8;
  put_text(img, "Category (items)", {kRight + 20, y + 4}, 0.5, kInk, 1);
  y += 26;
  for (std::size_t c = 0; c < ranked.size() && c < kMaxCategories; ++c, y += 24) {
    cv::circle(img, {kRight + 28, y}, 6, kPalette[c], cv::FILLED, cv::LINE_AA);
    std::string name = ranked[c].first;
    if (name.size() > 18) name = name.substr(0, 16) + "..";
    put_text(img, fmt::format("{} ({})", name, ranked[c].second), {kRight + 42, y + 5}, 0.45, kInk);
  }
  if (ranked.size() > kMaxCategories) {
    int others = 0;
    for (std::size_t c = kMaxCategories; c < ranked.size(); ++c) others += ranked[c].second;
    cv::circle(img, {kRight + 28, y}, 6, kOther, cv::FILLED, cv::LINE_AA);
    put_text(img, fmt::format("other ({})", others), {kRight + 42, y + 5}, 0.45, kInk);
  }
  return img;
}

}  // namespace mystyle::server
