#include "mystyle/train/report_plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>

namespace mystyle::train {
namespace {

const cv::Scalar kInk(40, 40, 40), kGrid(225, 225, 225), kWhite(255, 255, 255);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.45,
          const cv::Scalar& colour = kInk) {
  cv::putText(img, s, at, kFont, scale, colour, 1, cv::LINE_AA);
}

}  // namespace

cv::Mat plot_series(std::span<const Series> series, const std::string& title, const std::string& y_label) {
  constexpr int kWidth = 800, kHeight = 480, kLeft = 80, kRight = 20, kTop = 40, kBottom = 50;
  cv::Mat img(kHeight, kWidth, CV_8UC3, kWhite);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  std::size_t n = 1;
  for (const Series& s : series) {
    for (double v : s.values) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    n = std::max(n, s.values.size());
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1e-3;
  const double pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const int pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) {
    return kLeft + static_cast<int>(std::lround((n > 1 ? (x - 1) / (n - 1.0) : 0.5) * pw));
  };
  auto py = [&](double y) { return kTop + static_cast<int>(std::lround((hi - y) / (hi - lo) * ph)); };

  for (int t = 0; t <= 5; ++t) {  // horizontal grid and y ticks
    const double y = lo + (hi - lo) * t / 5.0;
    cv::line(img, {kLeft, py(y)}, {kLeft + pw, py(y)}, kGrid, 1);
    text(img, fmt::format("{:.4f}", y), {8, py(y) + 4}, 0.4);
  }
  const std::size_t step = std::max<std::size_t>(1, n / 10);
  for (std::size_t x = 1; x <= n; x += step)
    text(img, std::to_string(x), {px(static_cast<double>(x)) - 5, kTop + ph + 18}, 0.4);
  cv::rectangle(img, {kLeft, kTop}, {kLeft + pw, kTop + ph}, kInk, 1);
  text(img, title, {kLeft, 26}, 0.6);
  text(img, "epoch", {kLeft + pw / 2 - 20, kHeight - 12});
  text(img, y_label, {8, kTop - 10}, 0.4);

  int legend_y = kTop + 20;
  for (const Series& s : series) {
    std::vector<cv::Point> points;
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      if (std::isfinite(s.values[i])) points.emplace_back(px(static_cast<double>(i + 1)), py(s.values[i]));
    }
    if (points.size() > 1) cv::polylines(img, points, false, s.colour, 2, cv::LINE_AA);
    for (const auto& p : points) cv::circle(img, p, 3, s.colour, cv::FILLED, cv::LINE_AA);
    cv::line(img, {kLeft + pw - 150, legend_y - 4}, {kLeft + pw - 125, legend_y - 4}, s.colour, 2);
    text(img, s.label, {kLeft + pw - 118, legend_y});
    legend_y += 20;
  }
  return img;
}

cv::Mat image_grid(const std::vector<std::vector<cv::Mat>>& rows, const std::vector<std::string>& row_labels,
                   int zoom) {
  constexpr int kLabelWidth = 130, kGap = 4;
  if (rows.empty() || rows.front().empty()) return cv::Mat(10, 10, CV_8UC3, kWhite);
  const int cell_w = rows.front().front().cols * zoom, cell_h = rows.front().front().rows * zoom;
  std::size_t columns = 0;
  for (const auto& r : rows) columns = std::max(columns, r.size());
  cv::Mat grid(static_cast<int>(rows.size()) * (cell_h + kGap) + kGap,
               kLabelWidth + static_cast<int>(columns) * (cell_w + kGap) + kGap, CV_8UC3, kWhite);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const int y = kGap + static_cast<int>(r) * (cell_h + kGap);
    if (r < row_labels.size()) text(grid, row_labels[r], {8, y + cell_h / 2 + 5}, 0.5);
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      cv::Mat bgr, big;
      cv::cvtColor(rows[r][c], bgr, cv::COLOR_RGB2BGR);
      cv::resize(bgr, big, {cell_w, cell_h}, 0, 0, cv::INTER_NEAREST);
      big.copyTo(
          grid(cv::Rect(kLabelWidth + kGap + static_cast<int>(c) * (cell_w + kGap), y, cell_w, cell_h)));
    }
  }
  return grid;
}

}  // namespace mystyle::train
