#pragma once
/// Scores that mean something: how the cosine similarity of a feature is distributed over pairs of
/// items of the same product type and over random pairs, as quantiles and as the AUC of telling
/// the two apart (a feature whose same-type pairs score higher than random pairs is one whose
/// scores can be read as "how alike"). The same pairs are scored for every feature so that they
/// can be compared. A `SimilarityScale` (the same-type quantiles of one model) is written beside the
/// retrieval report; the served match strength is engine::MatchCalibration's (engine/match_strength.h).
#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <opencv2/core/mat.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace mystyle::eval {

/// The quantiles reported, in order (p5, p25, p50, p75, p95).
inline constexpr std::array<double, 5> kSimilarityQuantiles = {0.05, 0.25, 0.5, 0.75, 0.95};
using Quantiles = std::array<double, kSimilarityQuantiles.size()>;

/// Pairs of rows (i < j) to score: of the same type, and random (uniform over all pairs, so a few
/// share a type too). Each set is every such pair when there are at most `max_pairs`, otherwise a
/// seeded uniform sample of `max_pairs` (with replacement).
struct SimilarityPairs {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> same_type, random;
  bool same_type_sampled = false, random_sampled = false;
};

/// `type_codes[i]` is row i's type (-1 = none: the row is in no same-type pair but may be in a
/// random one). Deterministic for a seed.
SimilarityPairs make_similarity_pairs(std::span<const int> type_codes, std::size_t max_pairs,
                                      std::uint64_t seed);

/// One feature's cosine similarity over the pairs.
struct SimilarityDistribution {
  std::string method;
  bool ours = false;  ///< the model's served code (the one plotted and saved as a scale)
  Quantiles same_type{}, random{};
  double auc = 0.5;  ///< P(a same-type pair scores above a random one), ties one half
  std::vector<float> same_type_scores, random_scores;  ///< per pair, for the histogram
};

/// Cosine similarity of `pairs` of rows of `vectors` ([rows, dim]; a zero row scores 0).
SimilarityDistribution similarity_distribution(std::string method, std::span<const float> vectors,
                                               std::size_t dim, const SimilarityPairs& pairs);

/// Several features' distributions over one set of pairs (what `mystyle eval retrieval` reports).
struct SimilarityComparison {
  std::size_t same_type_pairs = 0, random_pairs = 0;
  bool same_type_sampled = false, random_sampled = false;
  std::uint64_t seed = 0;  ///< of the pair sample
  std::vector<SimilarityDistribution> features;
};

/// The counts of `pairs` (sampled with `seed`), with no features yet.
SimilarityComparison describe_pairs(const SimilarityPairs& pairs, std::uint64_t seed);

/// Quantiles and AUC per feature (no per-pair scores).
nlohmann::json to_json(const SimilarityComparison& comparison);
/// A short table: a line on the pairs, then one row per feature.
std::string format_table(const SimilarityComparison& comparison);

/// The q-quantile of `values` with linear interpolation between order statistics (numpy's
/// default: position q * (n - 1) in the sorted values); 0 for no values. q in [0, 1].
double quantile(std::span<const float> values, double q);

/// Overlaid histograms (share of all pairs per bin) of the same-type and random scores, from the
/// lowest 1% of either up to the highest score, each median marked. BGR, 800x480.
cv::Mat plot_similarity(const SimilarityDistribution& distribution, const std::string& title);

/// A model's same-type cosine quantiles on the held-out items.
struct SimilarityScale {
  std::string model;
  Quantiles same_type{};  ///< ascending
};

/// {"model", "metric": "cosine", "quantiles": [0.05, ...], "same_type": [...]}.
nlohmann::json to_json(const SimilarityScale& scale);
/// Inverse of to_json; throws mystyle::Error (kCorrupt) naming `where` and the field at fault.
SimilarityScale similarity_scale_from_json(const nlohmann::json& doc, const std::string& where);
/// Reads a file written from to_json (reports/eval/similarity_<model>.json). Throws mystyle::Error.
SimilarityScale load_similarity_scale(const std::filesystem::path& path);

}  // namespace mystyle::eval
