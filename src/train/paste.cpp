#include "mystyle/train/paste.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <opencv2/imgproc.hpp>
#include <string_view>
#include <vector>

#include "mystyle/core/error.h"
#include "mystyle/image/crop.h"

namespace mystyle::train {
namespace {

using engine::ParseClass;

/// A backdrop pixel is flat (every channel's central difference, across and down, at most this) ...
constexpr int kFlatStep = 10;
/// ... and within this of the frame's colour in every channel (vignetting and soft shadows).
constexpr int kBackdropTolerance = 60;
/// A backdrop-like part the garment encloses (inside a bag's handle, between a sandal's straps) is
/// backdrop when its mean is this close to the frame's colour, it is at least kMinEnclosedShare of the
/// photo and under kMaxEnclosedShare of the object around it (the inside of a white shirt is more).
constexpr int kEnclosedTolerance = 12;
constexpr double kMinEnclosedShare = 0.002, kMaxEnclosedShare = 0.4;
constexpr double kMinGarmentShare = 0.02, kMaxGarmentShare = 0.9;

bool contains(std::string_view text, std::string_view word) {
  return text.find(word) != std::string_view::npos;
}

/// The box of the pixels of `classes` whose class is in `wanted`; empty when none.
cv::Rect box_of(const cv::Mat& classes, std::initializer_list<ParseClass> wanted) {
  cv::Mat in = cv::Mat::zeros(classes.size(), CV_8UC1);
  for (const ParseClass c : wanted) in |= classes == static_cast<int>(c);
  return cv::boundingRect(in);
}

/// The boxes of the largest parts (8-connected) of class `c`, at most `n`, each at least a fifth of
/// the largest; largest first.
std::vector<cv::Rect> parts_of(const cv::Mat& classes, ParseClass c, std::size_t n) {
  cv::Mat labels, stats, centroids;
  const int count = cv::connectedComponentsWithStats(classes == static_cast<int>(c), labels, stats, centroids, 8,
                                                     CV_32S);
  std::vector<std::pair<int, cv::Rect>> parts;
  for (int i = 1; i < count; ++i) {
    parts.emplace_back(stats.at<int>(i, cv::CC_STAT_AREA),
                       cv::Rect(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
                                stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT)));
  }
  std::ranges::sort(parts, std::greater<>(), &std::pair<int, cv::Rect>::first);
  std::vector<cv::Rect> out;
  for (const auto& [area, box] : parts) {
    if (out.size() == n || area * 5 < parts.front().first) break;
    out.push_back(box);
  }
  return out;
}

/// A band of the person's box: rows from `top` to `bottom` (shares of its height), columns from
/// `left` to `right` (shares of its width).
cv::Rect band(const cv::Rect& person, double top, double bottom, double left = 0.0, double right = 1.0) {
  const int x0 = person.x + static_cast<int>(std::lround(left * person.width));
  const int x1 = person.x + static_cast<int>(std::lround(right * person.width));
  const int y0 = person.y + static_cast<int>(std::lround(top * person.height));
  const int y1 = person.y + static_cast<int>(std::lround(bottom * person.height));
  return {x0, y0, std::max(1, x1 - x0), std::max(1, y1 - y0)};
}

/// Where a garment of class `cls` is worn on this person: one box (shoes: one a foot), and whether
/// each is mirrored.
std::vector<std::pair<cv::Rect, bool>> targets_for(const cv::Mat& classes, const cv::Rect& person, ParseClass cls) {
  std::vector<std::pair<cv::Rect, bool>> t;
  const auto one = [&](cv::Rect own, const cv::Rect& fallback) {
    t.emplace_back(own.area() > 0 ? own : fallback, false);
  };
  switch (cls) {
    case ParseClass::kTop:
    case ParseClass::kOuterwear: {
      cv::Rect upper = box_of(classes, {ParseClass::kTop, ParseClass::kOuterwear});
      if (upper.area() == 0) {
        const cv::Rect dress = box_of(classes, {ParseClass::kDress});
        if (dress.area() > 0) upper = cv::Rect(dress.x, dress.y, dress.width, std::max(1, dress.height * 9 / 20));
      }
      one(upper, cls == ParseClass::kTop ? band(person, 0.15, 0.5) : band(person, 0.15, 0.6));
      break;
    }
    case ParseClass::kBottom:
      one(box_of(classes, {ParseClass::kBottom}), band(person, 0.45, 0.85));
      break;
    case ParseClass::kDress:
      one(box_of(classes, {ParseClass::kTop, ParseClass::kOuterwear, ParseClass::kBottom, ParseClass::kDress}),
          band(person, 0.15, 0.75));
      break;
    case ParseClass::kShoes: {
      const std::vector<cv::Rect> feet = parts_of(classes, ParseClass::kShoes, 2);
      if (feet.empty()) {
        t.emplace_back(band(person, 0.9, 1.0, 0.1, 0.5), false);
        t.emplace_back(band(person, 0.9, 1.0, 0.5, 0.9), true);
      }
      for (std::size_t i = 0; i < feet.size(); ++i) t.emplace_back(feet[i], i == 1);
      break;
    }
    case ParseClass::kLegwear:
      one(box_of(classes, {ParseClass::kLegwear}), band(person, 0.65, 0.95, 0.15, 0.85));
      break;
    case ParseClass::kBag: {
      const std::vector<cv::Rect> own = parts_of(classes, ParseClass::kBag, 1);
      one(own.empty() ? cv::Rect() : own.front(), band(person, 0.4, 0.62, 0.65, 1.05));
      break;
    }
    case ParseClass::kAccessory: {
      const std::vector<cv::Rect> own = parts_of(classes, ParseClass::kAccessory, 1);
      one(own.empty() ? cv::Rect() : own.front(), band(person, 0.14, 0.24, 0.35, 0.65));
      break;
    }
    case ParseClass::kBackground:
    case ParseClass::kPerson:
      break;
  }
  return t;
}

/// Pastes the garment crop (rgb, mask) scaled to fit `target` (the smaller of its two scales), into `out`.
void paste_into(PastedPhoto& out, const cv::Mat& rgb, const cv::Mat& mask, const cv::Rect& target, bool mirror,
                ParseClass cls, nn::Rng& rng) {
  const double fit = std::min(static_cast<double>(target.width) / mask.cols,
                              static_cast<double>(target.height) / mask.rows);
  const double s = fit * rng.uniform(0.9f, 1.15f);
  const int w = std::max(2, static_cast<int>(std::lround(mask.cols * s)));
  const int h = std::max(2, static_cast<int>(std::lround(mask.rows * s)));
  const double jx = rng.uniform(-0.05f, 0.05f) * target.width, jy = rng.uniform(-0.05f, 0.05f) * target.height;
  const int x = static_cast<int>(std::lround(target.x + (target.width - w) / 2.0 + jx));
  // Tops, dresses and bottoms hang from the shoulders or the waist; shoes stand on the ground.
  int y = 0;
  if (cls == ParseClass::kShoes)
    y = target.y + target.height - h;
  else if (cls == ParseClass::kTop || cls == ParseClass::kOuterwear || cls == ParseClass::kDress ||
           cls == ParseClass::kBottom)
    y = target.y;
  else
    y = target.y + (target.height - h) / 2;
  y += static_cast<int>(std::lround(jy));
  const cv::Rect placed(x, y, w, h);
  const cv::Rect inside = placed & cv::Rect(0, 0, out.rgb.cols, out.rgb.rows);
  if (inside.area() == 0) return;
  cv::Mat g, m;
  cv::resize(rgb, g, placed.size(), 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::resize(mask, m, placed.size(), 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  if (mirror) {
    cv::flip(g, g, 1);
    cv::flip(m, m, 1);
  }
  const cv::Rect from(inside.x - placed.x, inside.y - placed.y, inside.width, inside.height);
  const cv::Mat on = m(from) >= 128;
  g(from).copyTo(out.rgb(inside), on);
  out.classes(inside).setTo(static_cast<int>(cls), on);
  out.box = out.box.area() > 0 ? (out.box | inside) : inside;
}

}  // namespace

std::optional<ParseClass> parse_class_of_item(const catalog::Item& item) {
  using catalog::Slot;
  switch (item.slot) {
    case Slot::kMainTop:
      if (item.category == "Outerwear" || contains(item.family, "Cardigan")) return ParseClass::kOuterwear;
      return ParseClass::kTop;
    case Slot::kInnerTop:
      return ParseClass::kTop;
    case Slot::kBottom:
      return ParseClass::kBottom;
    case Slot::kDress:
      return ParseClass::kDress;
    case Slot::kShoes:
      return ParseClass::kShoes;
    case Slot::kBag:
      return ParseClass::kBag;
    case Slot::kHat:
      return ParseClass::kAccessory;
    case Slot::kAccessory:
      if (contains(item.family, "Gadget")) return std::nullopt;
      return ParseClass::kAccessory;
    case Slot::kIntimate:
      for (const std::string_view w : {"Sock", "Tights", "Bra", "Knicker", "Bikini", "Swimsuit"}) {
        if (contains(item.type, w)) return ParseClass::kLegwear;
      }
      return std::nullopt;
    case Slot::kOther:
      return std::nullopt;
  }
  return std::nullopt;
}

cv::Mat studio_garment_mask(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error("studio_garment_mask: expected a non-empty CV_8UC3 image", ErrorKind::kInvalidInput);
  }
  const int rows = rgb.rows, cols = rgb.cols;
  const cv::Vec3b bg = image::estimate_background(rgb);
  // Backdrop-like: flat and near the frame's colour.
  cv::Mat like(rgb.size(), CV_8UC1, cv::Scalar(0));
  for (int y = 0; y < rows; ++y) {
    const cv::Vec3b* row = rgb.ptr<cv::Vec3b>(y);
    const cv::Vec3b* up = rgb.ptr<cv::Vec3b>(std::max(0, y - 1));
    const cv::Vec3b* down = rgb.ptr<cv::Vec3b>(std::min(rows - 1, y + 1));
    std::uint8_t* o = like.ptr<std::uint8_t>(y);
    for (int x = 0; x < cols; ++x) {
      const cv::Vec3b& l = row[std::max(0, x - 1)];
      const cv::Vec3b& r = row[std::min(cols - 1, x + 1)];
      bool ok = true;
      for (int c = 0; c < 3 && ok; ++c) {
        ok = std::abs(row[x][c] - bg[c]) <= kBackdropTolerance && std::abs(l[c] - r[c]) <= kFlatStep &&
             std::abs(up[x][c] - down[x][c]) <= kFlatStep;
      }
      o[x] = ok ? 255 : 0;
    }
  }
  // The backdrop: the backdrop-like parts that touch the frame, and the large enclosed ones of the
  // frame's very colour.
  cv::Mat labels, part_stats, part_centroids;
  const int n = cv::connectedComponentsWithStats(like, labels, part_stats, part_centroids, 4, CV_32S);
  std::vector<std::uint8_t> touches(static_cast<std::size_t>(n), 0);
  for (int x = 0; x < cols; ++x) {
    touches[static_cast<std::size_t>(labels.at<int>(0, x))] = 1;
    touches[static_cast<std::size_t>(labels.at<int>(rows - 1, x))] = 1;
  }
  for (int y = 0; y < rows; ++y) {
    touches[static_cast<std::size_t>(labels.at<int>(y, 0))] = 1;
    touches[static_cast<std::size_t>(labels.at<int>(y, cols - 1))] = 1;
  }
  {
    std::vector<std::array<double, 4>> sums(static_cast<std::size_t>(n), {0, 0, 0, 0});
    for (int y = 0; y < rows; ++y) {
      const int* l = labels.ptr<int>(y);
      const cv::Vec3b* row = rgb.ptr<cv::Vec3b>(y);
      for (int x = 0; x < cols; ++x) {
        auto& sum = sums[static_cast<std::size_t>(l[x])];
        for (int c = 0; c < 3; ++c) sum[static_cast<std::size_t>(c)] += row[x][c];
        sum[3] += 1;
      }
    }
    // The object: every pixel but the frame's backdrop.
    double object = static_cast<double>(rgb.total());
    for (int i = 1; i < n; ++i) {
      if (touches[static_cast<std::size_t>(i)] != 0) object -= sums[static_cast<std::size_t>(i)][3];
    }
    for (int i = 1; i < n; ++i) {
      const auto& sum = sums[static_cast<std::size_t>(i)];
      if (touches[static_cast<std::size_t>(i)] != 0 || sum[3] < kMinEnclosedShare * static_cast<double>(rgb.total()) ||
          sum[3] > kMaxEnclosedShare * object)
        continue;
      bool near = true;
      for (int c = 0; c < 3; ++c) near = near && std::abs(sum[static_cast<std::size_t>(c)] / sum[3] - bg[c]) <= kEnclosedTolerance;
      if (near) touches[static_cast<std::size_t>(i)] = 1;
    }
  }
  cv::Mat garment(rgb.size(), CV_8UC1);
  for (int y = 0; y < rows; ++y) {
    const int* l = labels.ptr<int>(y);
    const std::uint8_t* k = like.ptr<std::uint8_t>(y);
    std::uint8_t* g = garment.ptr<std::uint8_t>(y);
    for (int x = 0; x < cols; ++x) g[x] = (k[x] != 0 && touches[static_cast<std::size_t>(l[x])] != 0) ? 0 : 255;
  }
  // Specks of noise away; parts under a fifth of the largest dropped (two shoes stay).
  cv::morphologyEx(garment, garment, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3)));
  cv::Mat parts, stats, centroids;
  const int count = cv::connectedComponentsWithStats(garment, parts, stats, centroids, 8, CV_32S);
  int largest = 0;
  for (int i = 1; i < count; ++i) largest = std::max(largest, stats.at<int>(i, cv::CC_STAT_AREA));
  std::vector<std::uint8_t> keep(static_cast<std::size_t>(count), 0);
  std::int64_t kept = 0;
  for (int i = 1; i < count; ++i) {
    if (stats.at<int>(i, cv::CC_STAT_AREA) * 5 >= largest) {
      keep[static_cast<std::size_t>(i)] = 255;
      kept += stats.at<int>(i, cv::CC_STAT_AREA);
    }
  }
  cv::Mat out(rgb.size(), CV_8UC1);
  for (int y = 0; y < rows; ++y) {
    const int* p = parts.ptr<int>(y);
    std::uint8_t* o = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < cols; ++x) o[x] = keep[static_cast<std::size_t>(p[x])];
  }
  const double share = static_cast<double>(kept) / static_cast<double>(rgb.total());
  if (share < kMinGarmentShare || share > kMaxGarmentShare) out.setTo(0);
  return out;
}

PastedPhoto paste_garment(const cv::Mat& person_rgb, const cv::Mat& person_classes, const cv::Mat& garment_rgb,
                          const cv::Mat& garment_mask, ParseClass cls, nn::Rng& rng) {
  if (person_rgb.empty() || person_rgb.type() != CV_8UC3 || person_classes.type() != CV_8UC1 ||
      person_classes.size() != person_rgb.size() || garment_rgb.empty() || garment_rgb.type() != CV_8UC3 ||
      garment_mask.type() != CV_8UC1 || garment_mask.size() != garment_rgb.size()) {
    throw Error("paste_garment: expected a CV_8UC3 person photo with CV_8UC1 classes of its size, and a CV_8UC3 "
                "garment photo with a CV_8UC1 mask of its size",
                ErrorKind::kInvalidInput);
  }
  PastedPhoto out{person_rgb.clone(), person_classes.clone(), {}};
  if (!engine::is_garment(cls)) return out;
  const cv::Rect gbox = cv::boundingRect(garment_mask);
  const cv::Rect person = cv::boundingRect(person_classes);
  if (gbox.area() == 0 || person.area() == 0) return out;
  const cv::Mat g = garment_rgb(gbox), m = garment_mask(gbox);
  for (const auto& [target, mirror] : targets_for(person_classes, person, cls)) {
    paste_into(out, g, m, target, mirror, cls, rng);
  }
  return out;
}

}  // namespace mystyle::train
