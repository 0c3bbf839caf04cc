#include "mystyle/eval/similarity.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "mystyle/core/error.h"
#include "mystyle/core/file_io.h"
#include "mystyle/eval/metrics.h"

namespace mystyle::eval {
namespace {

using Pair = std::pair<std::uint32_t, std::uint32_t>;

/// Two distinct members of [0, count), ascending, uniform over the unordered pairs. count >= 2.
Pair draw_pair(std::mt19937_64& rng, std::size_t count) {
  const auto a = static_cast<std::uint32_t>(std::uniform_int_distribution<std::size_t>(0, count - 1)(rng));
  auto b = static_cast<std::uint32_t>(std::uniform_int_distribution<std::size_t>(0, count - 2)(rng));
  if (b >= a) ++b;
  return {std::min(a, b), std::max(a, b)};
}

/// Every pair of `rows` (ascending within the pair) appended to `out`.
void add_all_pairs(std::span<const std::uint32_t> rows, std::vector<Pair>& out) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = i + 1; j < rows.size(); ++j) out.emplace_back(rows[i], rows[j]);
  }
}

std::size_t pair_count(std::size_t members) {
  return members * (members - std::min<std::size_t>(members, 1)) / 2;
}

std::vector<float> cosine_of_pairs(std::span<const float> vectors, std::size_t dim,
                                   std::span<const double> inverse_norms, std::span<const Pair> pairs) {
  std::vector<float> scores;
  scores.reserve(pairs.size());
  for (const auto& [a, b] : pairs) {
    const float* x = vectors.data() + std::size_t{a} * dim;
    const float* y = vectors.data() + std::size_t{b} * dim;
    double dot = 0;
    for (std::size_t t = 0; t < dim; ++t) dot += double(x[t]) * y[t];
    scores.push_back(static_cast<float>(dot * inverse_norms[a] * inverse_norms[b]));
  }
  return scores;
}

Quantiles quantiles_of(std::span<const float> values) {
  std::vector<float> sorted(values.begin(), values.end());
  std::ranges::sort(sorted);
  Quantiles q{};
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = quantile(sorted, kSimilarityQuantiles[i]);
  return q;
}

/// Share of `scores` in each of `bins` equal bins of [lo, hi] (scores below lo are in none).
std::vector<double> histogram(std::span<const float> scores, double lo, double hi, int bins) {
  std::vector<double> share(static_cast<std::size_t>(bins), 0.0);
  for (float s : scores) {
    if (s < lo) continue;
    const int b = std::min(static_cast<int>((s - lo) / (hi - lo) * bins), bins - 1);
    share[static_cast<std::size_t>(b)] += 1.0;
  }
  for (double& v : share) v /= static_cast<double>(std::max<std::size_t>(1, scores.size()));
  return share;
}

}  // namespace

SimilarityPairs make_similarity_pairs(std::span<const int> type_codes, std::size_t max_pairs,
                                      std::uint64_t seed) {
  std::map<int, std::vector<std::uint32_t>> members;  // ordered: the same pairs for the same input
  for (std::size_t i = 0; i < type_codes.size(); ++i) {
    if (type_codes[i] >= 0) members[type_codes[i]].push_back(static_cast<std::uint32_t>(i));
  }
  std::vector<const std::vector<std::uint32_t>*> groups;
  std::vector<double> weights;
  std::size_t same_total = 0;
  for (const auto& [type, rows] : members) {
    groups.push_back(&rows);
    weights.push_back(static_cast<double>(pair_count(rows.size())));
    same_total += pair_count(rows.size());
  }
  SimilarityPairs out;
  std::mt19937_64 rng(seed);
  if (same_total <= max_pairs) {
    for (const auto* rows : groups) add_all_pairs(*rows, out.same_type);
  } else {
    // A type is drawn in proportion to its pairs, then a pair within it: uniform over same-type pairs.
    out.same_type_sampled = true;
    std::discrete_distribution<std::size_t> pick_type(weights.begin(), weights.end());
    for (std::size_t s = 0; s < max_pairs; ++s) {
      const auto& rows = *groups[pick_type(rng)];
      const auto [a, b] = draw_pair(rng, rows.size());
      out.same_type.emplace_back(rows[a], rows[b]);
    }
  }
  const std::size_t n = type_codes.size();
  if (pair_count(n) <= max_pairs) {
    std::vector<std::uint32_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = static_cast<std::uint32_t>(i);
    add_all_pairs(all, out.random);
  } else {
    out.random_sampled = true;
    for (std::size_t s = 0; s < max_pairs; ++s) out.random.push_back(draw_pair(rng, n));
  }
  return out;
}

SimilarityDistribution similarity_distribution(std::string method, std::span<const float> vectors,
                                               std::size_t dim, const SimilarityPairs& pairs) {
  if (dim == 0 || vectors.size() % dim != 0) {
    throw Error(fmt::format("similarity of {}: {} values are not rows of {}", method, vectors.size(), dim));
  }
  const std::size_t rows = vectors.size() / dim;
  for (const auto* set : {&pairs.same_type, &pairs.random}) {
    for (const auto& [a, b] : *set) {
      if (a >= rows || b >= rows)
        throw Error(fmt::format("similarity of {}: pair ({}, {}) outside {} rows", method, a, b, rows));
    }
  }
  std::vector<double> inverse_norms(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    double sq = 0;
    for (std::size_t t = 0; t < dim; ++t) sq += double(vectors[i * dim + t]) * vectors[i * dim + t];
    inverse_norms[i] = sq > 0 ? 1.0 / std::sqrt(sq) : 0.0;  // a zero row scores 0 with everything
  }
  SimilarityDistribution d;
  d.method = std::move(method);
  d.same_type_scores = cosine_of_pairs(vectors, dim, inverse_norms, pairs.same_type);
  d.random_scores = cosine_of_pairs(vectors, dim, inverse_norms, pairs.random);
  d.same_type = quantiles_of(d.same_type_scores);
  d.random = quantiles_of(d.random_scores);
  std::vector<double> scores(d.same_type_scores.begin(), d.same_type_scores.end());
  scores.insert(scores.end(), d.random_scores.begin(), d.random_scores.end());
  const auto labels = std::make_unique<bool[]>(scores.size());  // vector<bool> is not a span
  std::fill_n(labels.get(), d.same_type_scores.size(), true);
  std::fill_n(labels.get() + d.same_type_scores.size(), d.random_scores.size(), false);
  d.auc = roc_auc(scores, std::span<const bool>(labels.get(), scores.size()));
  return d;
}

SimilarityComparison describe_pairs(const SimilarityPairs& pairs, std::uint64_t seed) {
  SimilarityComparison c;
  c.same_type_pairs = pairs.same_type.size();
  c.random_pairs = pairs.random.size();
  c.same_type_sampled = pairs.same_type_sampled;
  c.random_sampled = pairs.random_sampled;
  c.seed = seed;
  return c;
}

nlohmann::json to_json(const SimilarityComparison& comparison) {
  nlohmann::json features = nlohmann::json::array();
  for (const auto& f : comparison.features) {
    features.push_back({{"method", f.method},
                        {"ours", f.ours},
                        {"same_type", f.same_type},
                        {"random", f.random},
                        {"auc", f.auc}});
  }
  return {{"metric", "cosine"},
          {"quantiles", kSimilarityQuantiles},
          {"same_type_pairs", comparison.same_type_pairs},
          {"same_type_sampled", comparison.same_type_sampled},
          {"random_pairs", comparison.random_pairs},
          {"random_sampled", comparison.random_sampled},
          {"seed", comparison.seed},
          {"features", features}};
}

std::string format_table(const SimilarityComparison& comparison) {
  auto how = [&](bool sampled) {
    return sampled ? fmt::format("a sample, seed {}", comparison.seed) : std::string("all");
  };
  std::string out = fmt::format(
      "similarity of item pairs (cosine): {} same-type pairs ({}), {} random pairs ({}); AUC = P(same-type "
      "pair scores above a random one)\n",
      comparison.same_type_pairs, how(comparison.same_type_sampled), comparison.random_pairs,
      how(comparison.random_sampled));
  out += fmt::format("{:<32} | {:^34} | {:^34} | {:>6}\n", "method", "same type: p5 p25 p50 p75 p95",
                     "random: p5 p25 p50 p75 p95", "AUC");
  for (const auto& f : comparison.features) {
    out += fmt::format("{:<32} | {:6.3f} | {:6.3f} | {:6.3f}\n", f.method, fmt::join(f.same_type, " "),
                       fmt::join(f.random, " "), f.auc);
  }
  return out;
}

double quantile(std::span<const float> values, double q) {
  if (values.empty()) return 0;
  std::vector<float> sorted(values.begin(), values.end());
  if (!std::ranges::is_sorted(sorted)) std::ranges::sort(sorted);
  const double position = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + fraction * (double(sorted[above]) - sorted[below]);
}

cv::Mat plot_similarity(const SimilarityDistribution& distribution, const std::string& title) {
  constexpr int kWidth = 800, kHeight = 480, kLeft = 70, kRight = 20, kTop = 56, kBottom = 50, kBins = 60;
  constexpr double kLeftTail =
      0.01;  // the x axis starts at this quantile: long low tails would squash the rest
  const cv::Scalar ink(40, 40, 40), grid(225, 225, 225);
  const cv::Scalar same_colour(40, 60, 210), random_colour(170, 110, 40);  // BGR: red, blue
  cv::Mat img(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  auto text = [&](const std::string& s, cv::Point at, double scale) {
    cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv::LINE_AA);
  };
  double lo = 1, hi = -1;
  for (const auto* scores : {&distribution.same_type_scores, &distribution.random_scores}) {
    if (scores->empty()) continue;
    lo = std::min(lo, quantile(*scores, kLeftTail));
    hi = std::max(hi, double(*std::ranges::max_element(*scores)));
  }
  if (lo > hi) lo = -1, hi = 1;
  if (hi - lo < 1e-6) lo -= 0.01, hi += 0.01;
  const std::vector<double> same = histogram(distribution.same_type_scores, lo, hi, kBins);
  const std::vector<double> random = histogram(distribution.random_scores, lo, hi, kBins);
  const double top =
      std::max(1e-9, std::max(*std::ranges::max_element(same), *std::ranges::max_element(random)));
  const int pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double score) {
    return kLeft + static_cast<int>(std::lround((score - lo) / (hi - lo) * pw));
  };
  auto py = [&](double share) { return kTop + static_cast<int>(std::lround((1.0 - share / top) * ph)); };
  for (int t = 0; t <= 5; ++t) {
    const double share = top * t / 5.0, score = lo + (hi - lo) * t / 5.0;
    cv::line(img, {kLeft, py(share)}, {kLeft + pw, py(share)}, grid, 1);
    text(fmt::format("{:.1f}%", 100 * share), {8, py(share) + 4}, 0.4);
    text(fmt::format("{:.3f}", score), {px(score) - 18, kTop + ph + 18}, 0.4);
  }
  cv::rectangle(img, {kLeft, kTop}, {kLeft + pw, kTop + ph}, ink, 1);
  text(title, {8, 24}, 0.55);
  text(fmt::format("cosine similarity (from the lowest {:.0f}% of pairs up)", 100 * kLeftTail),
       {kLeft + pw / 2 - 180, kHeight - 12}, 0.45);
  text("share of pairs", {8, kTop - 10}, 0.4);
  const struct {
    const std::vector<double>& share;
    const std::vector<float>& scores;
    double median;
    cv::Scalar colour;
    const char* label;
  } curves[] = {{same, distribution.same_type_scores, distribution.same_type[2], same_colour, "same type"},
                {random, distribution.random_scores, distribution.random[2], random_colour, "random"}};
  int legend_y = kTop + 20;
  for (const auto& c : curves) {
    std::vector<cv::Point> points;
    for (int b = 0; b < kBins; ++b) {
      points.emplace_back(px(lo + (hi - lo) * (b + 0.5) / kBins), py(c.share[static_cast<std::size_t>(b)]));
    }
    cv::polylines(img, points, false, c.colour, 2, cv::LINE_AA);
    cv::line(img, {px(c.median), kTop}, {px(c.median), kTop + ph}, c.colour, 1);  // the median
    cv::line(img, {kLeft + 12, legend_y - 4}, {kLeft + 37, legend_y - 4}, c.colour, 2);
    text(fmt::format("{} ({} pairs, median {:.3f})", c.label, c.scores.size(), c.median),
         {kLeft + 44, legend_y}, 0.45);
    legend_y += 20;
  }
  return img;
}

nlohmann::json to_json(const SimilarityScale& scale) {
  return {{"model", scale.model},
          {"metric", "cosine"},
          {"quantiles", kSimilarityQuantiles},
          {"same_type", scale.same_type}};
}

SimilarityScale similarity_scale_from_json(const nlohmann::json& doc, const std::string& where) {
  auto fail = [&](const std::string& field, const std::string& expected) {
    return Error(fmt::format("{}: field '{}': expected {}", where, field, expected), ErrorKind::kCorrupt);
  };
  if (!doc.is_object()) throw fail("(document)", "a JSON object");
  SimilarityScale scale;
  if (!doc.contains("model") || !doc["model"].is_string()) throw fail("model", "a string");
  scale.model = doc["model"].get<std::string>();
  if (doc.value("metric", std::string()) != "cosine") throw fail("metric", "\"cosine\"");
  const std::string expected = fmt::format("{} ascending numbers", kSimilarityQuantiles.size());
  if (!doc.contains("quantiles") || !doc["quantiles"].is_array() ||
      doc["quantiles"].size() != kSimilarityQuantiles.size()) {
    throw fail("quantiles", fmt::format("[{}]", fmt::join(kSimilarityQuantiles, ", ")));
  }
  for (std::size_t i = 0; i < kSimilarityQuantiles.size(); ++i) {
    const auto& q = doc["quantiles"][i];
    if (!q.is_number() || std::abs(q.get<double>() - kSimilarityQuantiles[i]) > 1e-9)
      throw fail("quantiles", fmt::format("[{}]", fmt::join(kSimilarityQuantiles, ", ")));
  }
  const auto& same = doc.contains("same_type") ? doc["same_type"] : nlohmann::json();
  if (!same.is_array() || same.size() != scale.same_type.size()) throw fail("same_type", expected);
  for (std::size_t i = 0; i < scale.same_type.size(); ++i) {
    if (!same[i].is_number() || !std::isfinite(same[i].get<double>())) throw fail("same_type", expected);
    scale.same_type[i] = same[i].get<double>();
    if (i > 0 && scale.same_type[i] < scale.same_type[i - 1]) throw fail("same_type", expected);
  }
  return scale;
}

SimilarityScale load_similarity_scale(const std::filesystem::path& path) {
  const std::string text = read_file_bytes(path);
  try {
    return similarity_scale_from_json(nlohmann::json::parse(text), path.string());
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", path.string(), e.what()), ErrorKind::kCorrupt);
  }
}

}  // namespace mystyle::eval
