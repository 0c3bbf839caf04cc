#include "mystyle/engine/parser.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc/edge_filter.hpp>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
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

double PieceRule::likelihood(ParseClass part, double confidence, double share) const {
  const auto& w = weights[static_cast<std::size_t>(part)];
  if (!w) return 1.0;
  const double z = (*w)[0] + (*w)[1] * confidence + (*w)[2] * std::log(std::max(share, 1e-6));
  return 1.0 / (1.0 + std::exp(-z));
}

nlohmann::json PieceRule::to_json() const {
  nlohmann::json classes = nlohmann::json::object();
  for (int c = 0; c < kParseClasses; ++c) {
    const auto& w = weights[static_cast<std::size_t>(c)];
    if (w) classes[std::string(parse_class_name(static_cast<ParseClass>(c)))] = {(*w)[0], (*w)[1], (*w)[2]};
  }
  return {{"form", "1 / (1 + exp(-(b + w_confidence * confidence + w_share * ln(share))))"},
          {"weights", classes}};
}

PieceRule PieceRule::from_json(const nlohmann::json& j, const std::filesystem::path& file) {
  PieceRule rule;
  if (!j.is_object() || !j.contains("weights") || !j["weights"].is_object()) {
    throw Error(fmt::format("{}: no 'weights' object", file.string()), ErrorKind::kCorrupt);
  }
  for (const auto& [name, w] : j["weights"].items()) {
    const auto it = std::ranges::find(kParseClassNames, name);
    if (it == kParseClassNames.end()) {
      throw Error(fmt::format("{}: field 'weights.{}': not a parse class", file.string(), name), ErrorKind::kCorrupt);
    }
    if (!w.is_array() || w.size() != 3 || !std::ranges::all_of(w, [](const auto& v) { return v.is_number(); })) {
      throw Error(fmt::format("{}: field 'weights.{}': not three numbers", file.string(), name), ErrorKind::kCorrupt);
    }
    std::array<double, 3> v{w[0].get<double>(), w[1].get<double>(), w[2].get<double>()};
    if (!std::ranges::all_of(v, [](double x) { return std::isfinite(x); })) {
      throw Error(fmt::format("{}: field 'weights.{}': not finite", file.string(), name), ErrorKind::kCorrupt);
    }
    rule.weights[static_cast<std::size_t>(it - kParseClassNames.begin())] = v;
  }
  return rule;
}

PieceRule fit_piece_rule(std::span<const PieceSample> samples) {
  PieceRule rule;
  constexpr double kRidge = 1e-4;
  for (int c = 0; c < kParseClasses; ++c) {
    std::vector<std::array<double, 3>> x;
    std::vector<double> y;
    for (const PieceSample& s : samples) {
      if (static_cast<int>(s.part) != c) continue;
      x.push_back({1.0, s.confidence, std::log(std::max(s.share, 1e-6))});
      y.push_back(s.right ? 1.0 : 0.0);
    }
    const double right = std::accumulate(y.begin(), y.end(), 0.0);
    if (x.size() < kMinPieceSamples || right == 0 || right == static_cast<double>(y.size())) continue;
    std::array<double, 3> w{};
    for (int iteration = 0; iteration < 50; ++iteration) {
      // Newton step on the mean log-likelihood with the ridge: H d = g.
      std::array<double, 3> g{};
      std::array<std::array<double, 3>, 3> h{};
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double z = w[0] * x[i][0] + w[1] * x[i][1] + w[2] * x[i][2];
        const double p = 1.0 / (1.0 + std::exp(-z));
        for (int a = 0; a < 3; ++a) {
          g[a] += (y[i] - p) * x[i][a];
          for (int b = 0; b < 3; ++b) h[a][b] += p * (1 - p) * x[i][a] * x[i][b];
        }
      }
      const double n = static_cast<double>(x.size());
      for (int a = 0; a < 3; ++a) {
        g[a] = g[a] / n - kRidge * w[a];
        for (int b = 0; b < 3; ++b) h[a][b] = h[a][b] / n + (a == b ? kRidge : 0.0);
      }
      // Solve the 3x3 system by Cramer's rule.
      const auto det = [](const std::array<std::array<double, 3>, 3>& m) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
      };
      const double d = det(h);
      if (!(std::abs(d) > 1e-300)) break;
      double step = 0;
      for (int a = 0; a < 3; ++a) {
        auto m = h;
        for (int r = 0; r < 3; ++r) m[r][a] = g[r];
        const double delta = det(m) / d;
        w[a] += delta;
        step = std::max(step, std::abs(delta));
      }
      if (step < 1e-9) break;
    }
    rule.weights[static_cast<std::size_t>(c)] = w;
  }
  return rule;
}

std::filesystem::path piece_rule_file(const std::filesystem::path& model_file) {
  auto p = model_file;
  p.replace_extension(".pieces.json");
  return p;
}

std::uint64_t model_file_digest(const std::filesystem::path& model_file) {
  const std::string bytes = read_file_bytes(model_file);
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (const char c : bytes) h = (h ^ static_cast<std::uint8_t>(c)) * 1099511628211ull;
  return h;
}

Parser::Parser(nn::Model model, std::optional<PieceRule> rule) : model_(std::move(model)), rule_(std::move(rule)) {}

std::unique_ptr<Parser> Parser::of_model(nn::Model model, std::optional<PieceRule> rule) {
  model.set_serving(true);
  return std::unique_ptr<Parser>(new Parser(std::move(model), std::move(rule)));
}

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
  // The rule fitted with this model, when there is one and it is this model's.
  std::optional<PieceRule> rule;
  if (const auto rule_path = piece_rule_file(path); std::filesystem::exists(rule_path)) {
    const nlohmann::json j = nlohmann::json::parse(read_file_bytes(rule_path), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw Error(fmt::format("{}: not JSON", rule_path.string()), ErrorKind::kCorrupt);
    const std::string digest = fmt::format("{:016x}", model_file_digest(path));
    if (j.value("model_digest", std::string()) != digest) {
      spdlog::warn("{}: fitted with another parse model than {}; every piece is kept (train --model parse again)",
                   rule_path.string(), path.string());
    } else {
      rule = PieceRule::from_json(j, rule_path);
    }
  }
  return of_model(std::move(model), std::move(rule));
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
    if (rule_) piece.likelihood = rule_->likelihood(piece.part, piece.confidence, piece.share);
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
         {"confidence", p.confidence},
         {"likelihood", p.likelihood}});
  }
  return {{"photo", {{"width", photo.width}, {"height", photo.height}}},
          {"person_share", r.person_share},
          {"classes", classes},
          {"pieces", pieces},
          {"timings_ms", {{"parse", r.parse_ms}}}};
}

}  // namespace mystyle::engine
