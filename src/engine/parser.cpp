#include "mystyle/engine/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc/edge_filter.hpp>

#include "mystyle/core/error.h"
#include "mystyle/image/squeeze.h"
#include "mystyle/nn/context.h"
#include "mystyle/nn/model_file.h"

namespace mystyle::engine {
namespace {

/// A part of a class's region counts when it is at least this share of the class's largest part.
constexpr double kMinPartOfLargest = 0.2;

/// refined_classes_from_logits: the longer side it works at, and the guided filter's radius (px there)
/// and regularisation (photo values in [0, 255]; smaller follows weaker edges). Chosen on the CCP
/// training photos with run 8's model (docs/parsing.md, "Edges from the photo"), never on held-out ones.
constexpr int kRefineSide = 128, kRefineRadius = 8;
constexpr double kRefineEps = 25.0;

/// The largest channel of each pixel of a kParseClasses-channel image.
cv::Mat argmax_planes(const cv::Mat& hwc) {
  cv::Mat classes(hwc.size(), CV_8UC1);
  for (int y = 0; y < hwc.rows; ++y) {
    const float* row = hwc.ptr<float>(y);
    std::uint8_t* out = classes.ptr<std::uint8_t>(y);
    for (int x = 0; x < hwc.cols; ++x) {
      const float* px = row + static_cast<std::ptrdiff_t>(x) * kParseClasses;
      out[x] = static_cast<std::uint8_t>(std::max_element(px, px + kParseClasses) - px);
    }
  }
  return classes;
}

}  // namespace

cv::Mat classes_from_logits(std::span<const float> logits, int side, cv::Size size) {
  const auto plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  if (logits.size() != kParseClasses * plane) throw Error("classes_from_logits: logits of the wrong size");
  // The planes side by side as one kParseClasses-channel image, scaled once, then the largest a pixel.
  cv::Mat hwc(side, side, CV_32FC(kParseClasses));
  for (std::size_t i = 0; i < plane; ++i) {
    float* px = hwc.ptr<float>() + i * kParseClasses;
    for (std::size_t c = 0; c < kParseClasses; ++c) px[c] = logits[c * plane + i];
  }
  cv::Mat big;
  cv::resize(hwc, big, size, 0, 0, cv::INTER_LINEAR);
  return argmax_planes(big);
}

cv::Mat refined_classes_from_logits(std::span<const float> logits, int side, const cv::Mat& rgb) {
  const auto plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  if (logits.size() != kParseClasses * plane)
    throw Error("refined_classes_from_logits: logits of the wrong size");
  // Probabilities (softmax over the classes), the planes side by side as one image.
  cv::Mat probs(side, side, CV_32FC(kParseClasses));
  for (std::size_t i = 0; i < plane; ++i) {
    float* px = probs.ptr<float>() + i * kParseClasses;
    float top = logits[i];
    for (std::size_t c = 1; c < kParseClasses; ++c) top = std::max(top, logits[c * plane + i]);
    float z = 0;
    for (std::size_t c = 0; c < kParseClasses; ++c) z += px[c] = std::exp(logits[c * plane + i] - top);
    for (std::size_t c = 0; c < kParseClasses; ++c) px[c] /= z;
  }
  const int longer = std::max(rgb.cols, rgb.rows), work_side = std::min(longer, kRefineSide);
  const cv::Size work(
      std::max(1, static_cast<int>(std::lround(static_cast<double>(rgb.cols) * work_side / longer))),
      std::max(1, static_cast<int>(std::lround(static_cast<double>(rgb.rows) * work_side / longer))));
  cv::Mat guide, scaled, filtered;
  cv::resize(rgb, guide, work, 0, 0, cv::INTER_AREA);
  cv::resize(probs, scaled, work, 0, 0, cv::INTER_LINEAR);
  // The guided filter takes at most 4 channels at a time.
  std::vector<cv::Mat> planes(kParseClasses);
  cv::split(scaled, planes);
  const auto filter = cv::ximgproc::createGuidedFilter(guide, kRefineRadius, kRefineEps);
  for (auto& p : planes) filter->filter(p, p);
  cv::merge(planes, filtered);
  cv::Mat classes = argmax_planes(filtered);
  // The filter may thin a small garment (a bag, shoes, a belt) below a piece's share: such a class keeps
  // its pixels of the plain map, so no piece is lost to the edges.
  const cv::Mat plain = argmax_planes(scaled);
  const double min_pixels = kMinPieceShare * static_cast<double>(plain.total());
  for (int c = 0; c < kParseClasses; ++c) {
    if (!is_garment(static_cast<ParseClass>(c))) continue;
    const cv::Mat was = plain == c;
    if (cv::countNonZero(was) >= min_pixels && cv::countNonZero(classes == c) < min_pixels)
      classes.setTo(c, was);
  }
  if (classes.size() == rgb.size()) return classes;
  cv::Mat full;
  cv::resize(classes, full, rgb.size(), 0, 0, cv::INTER_NEAREST);
  return full;
}

cv::Mat cut_out(const cv::Mat& rgb, const ParsePiece& piece, cv::Vec3b backdrop) {
  if (rgb.size() != piece.mask.size() || rgb.type() != CV_8UC3) {
    throw Error("cut_out: the piece's mask is not of this photo");
  }
  const int margin = std::max(piece.box.width, piece.box.height) / 10;
  const cv::Rect grown = cv::Rect(piece.box.x - margin, piece.box.y - margin, piece.box.width + 2 * margin,
                                  piece.box.height + 2 * margin) &
                         cv::Rect(0, 0, rgb.cols, rgb.rows);
  cv::Mat out(grown.size(), CV_8UC3, cv::Scalar(backdrop[0], backdrop[1], backdrop[2]));
  rgb(grown).copyTo(out, piece.mask(grown));
  return out;
}

std::vector<ParsePiece> pieces_of(const cv::Mat& classes) {
  std::vector<ParsePiece> pieces;
  const double total = static_cast<double>(classes.total());
  bool outerwear = false;
  cv::Mat labels, stats, centroids;
  for (int c = 0; c < kParseClasses; ++c) {
    const auto part = static_cast<ParseClass>(c);
    if (!is_garment(part)) continue;
    const cv::Mat region = classes == c;
    const int n = cv::connectedComponentsWithStats(region, labels, stats, centroids, 8, CV_32S);
    int largest = 0;
    for (int i = 1; i < n; ++i) largest = std::max(largest, stats.at<int>(i, cv::CC_STAT_AREA));
    ParsePiece piece;
    piece.part = part;
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(n), 0);  // 255 for the parts kept
    for (int i = 1; i < n; ++i) {
      const int area = stats.at<int>(i, cv::CC_STAT_AREA);
      if (area < kMinPartOfLargest * largest) continue;
      keep[static_cast<std::size_t>(i)] = 255;
      piece.pixels += area;
    }
    piece.share = static_cast<double>(piece.pixels) / total;
    if (piece.share < kMinPieceShare) continue;
    piece.mask.create(classes.size(), CV_8UC1);
    for (int y = 0; y < classes.rows; ++y) {
      const int* l = labels.ptr<int>(y);
      std::uint8_t* m = piece.mask.ptr<std::uint8_t>(y);
      for (int x = 0; x < classes.cols; ++x) m[x] = keep[static_cast<std::size_t>(l[x])];
    }
    piece.box = cv::boundingRect(piece.mask);
    if (part == ParseClass::kOuterwear) outerwear = true;
    pieces.push_back(std::move(piece));
  }
  for (ParsePiece& p : pieces) p.slot = slot_of(p.part, outerwear);
  std::ranges::sort(pieces, [](const ParsePiece& a, const ParsePiece& b) { return a.pixels > b.pixels; });
  return pieces;
}

void parse_input(const cv::Mat& rgb, int side, int channels, std::span<float> out) {
  const auto plane = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  if ((channels != 3 && channels != kParseInputWithPosition) ||
      out.size() != static_cast<std::size_t>(channels) * plane) {
    throw Error(
        fmt::format("parse_input: {} floats for {} channels of {}x{}", out.size(), channels, side, side));
  }
  image::squeeze_to_chw(rgb, side, out.first(3 * plane));
  if (channels == 3) return;
  float* rows = out.data() + 3 * plane;
  float* cols = rows + plane;
  std::fill(cols + plane, out.data() + out.size(), 0.0f);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      const auto i =
          static_cast<std::size_t>(y) * static_cast<std::size_t>(side) + static_cast<std::size_t>(x);
      rows[i] = (2.0f * static_cast<float>(y) + 1.0f) / static_cast<float>(side) - 1.0f;
      cols[i] = (2.0f * static_cast<float>(x) + 1.0f) / static_cast<float>(side) - 1.0f;
    }
  }
}

Parser::Parser(nn::Model model) : model_(std::move(model)) {}

std::unique_ptr<Parser> Parser::open(const Workspace& workspace) {
  const auto path = workspace.model_file("parse");
  if (!std::filesystem::exists(path)) {
    throw Error(fmt::format("{}: no parsing model; run `mystyle train --model parse` first", path.string()),
                ErrorKind::kNotFound);
  }
  nn::Model model = nn::load_model(path);
  const nn::TensorShape out = model.output_shape();
  if (out.channels != kParseClasses || out.height != out.width) {
    throw Error(fmt::format("{}: gives {} planes of {}x{}, not {} square class planes (not a parse model)",
                            path.string(), out.channels, out.width, out.height, kParseClasses),
                ErrorKind::kCorrupt);
  }
  if (const int in = model.spec().in_channels; in != 3 && in != kParseInputWithPosition) {
    throw Error(
        fmt::format("{}: takes {} input planes, not 3 (a photo) or {} (a photo and its position): not a "
                    "parse model",
                    path.string(), in, kParseInputWithPosition),
        ErrorKind::kCorrupt);
  }
  model.set_serving(true);
  return std::unique_ptr<Parser>(new Parser(std::move(model)));
}

ParseResult Parser::parse(const cv::Mat& rgb) {
  const auto t = std::chrono::steady_clock::now();
  const int side = model_.spec().image_side_px, out_side = model_.output_shape().height;
  const int channels = model_.spec().in_channels;
  std::vector<float> input(static_cast<std::size_t>(channels * side * side));
  std::vector<float> logits(static_cast<std::size_t>(model_.output_shape().size()));
  parse_input(rgb, side, channels, input);
  {
    std::lock_guard lock(mutex_);
    nn::set_num_threads(1);  // one photo: one thread is fastest, and a server runs many at once
    model_.reconstruct(input, 1, logits);
  }
  ParseResult r;
  r.classes = refined_classes_from_logits(logits, out_side, rgb);
  r.pieces = pieces_of(r.classes);
  // Each piece's confidence: its class's softmax probability, averaged over the logit cells whose
  // centre falls on the piece.
  const auto plane = static_cast<std::size_t>(out_side) * static_cast<std::size_t>(out_side);
  for (ParsePiece& piece : r.pieces) {
    const auto c = static_cast<std::size_t>(piece.part);
    double sum = 0;
    std::int64_t n = 0;
    for (int gy = 0; gy < out_side; ++gy) {
      const int y = std::min(rgb.rows - 1, static_cast<int>((gy + 0.5) * rgb.rows / out_side));
      const std::uint8_t* m = piece.mask.ptr<std::uint8_t>(y);
      for (int gx = 0; gx < out_side; ++gx) {
        const int x = std::min(rgb.cols - 1, static_cast<int>((gx + 0.5) * rgb.cols / out_side));
        if (m[x] == 0) continue;
        const std::size_t i =
            static_cast<std::size_t>(gy) * static_cast<std::size_t>(out_side) + static_cast<std::size_t>(gx);
        float top = logits[i];
        for (std::size_t k = 1; k < kParseClasses; ++k) top = std::max(top, logits[k * plane + i]);
        double z = 0;
        for (std::size_t k = 0; k < kParseClasses; ++k)
          z += std::exp(static_cast<double>(logits[k * plane + i] - top));
        sum += std::exp(static_cast<double>(logits[c * plane + i] - top)) / z;
        ++n;
      }
    }
    if (n > 0) piece.confidence = sum / static_cast<double>(n);
  }
  r.person_share = static_cast<double>(cv::countNonZero(r.classes)) / static_cast<double>(r.classes.total());
  r.parse_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
  return r;
}

nlohmann::json Parser::to_json(const ParseResult& r, cv::Size photo) {
  nlohmann::json classes = nlohmann::json::array();
  for (int c = 0; c < kParseClasses; ++c) {
    const auto slot = slot_of(static_cast<ParseClass>(c));
    classes.push_back({{"value", c},
                       {"name", kParseClassNames[static_cast<std::size_t>(c)]},
                       {"slot", slot ? nlohmann::json(catalog::slot_name(*slot)) : nlohmann::json(nullptr)}});
  }
  nlohmann::json pieces = nlohmann::json::array();
  for (const ParsePiece& p : r.pieces) {
    pieces.push_back(
        {{"class", parse_class_name(p.part)},
         {"slot", p.slot ? nlohmann::json(catalog::slot_name(*p.slot)) : nlohmann::json(nullptr)},
         {"box", {{"x", p.box.x}, {"y", p.box.y}, {"width", p.box.width}, {"height", p.box.height}}},
         {"share", p.share},
         {"confidence", p.confidence}});
  }
  return {{"photo", {{"width", photo.width}, {"height", photo.height}}},
          {"person_share", r.person_share},
          {"classes", classes},
          {"pieces", pieces},
          {"timings_ms", {{"parse", r.parse_ms}}}};
}

}  // namespace mystyle::engine
