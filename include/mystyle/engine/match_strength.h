#pragma once
/// Scores a person can read: a cosine similarity means little by itself (an autoencoder puts every
/// pair near 1, a learned embedding spreads them), so each score is placed among the catalog's own
/// pairs: the share of SAME-TYPE pairs it beats (how close it is for a real look-alike) and the
/// share of RANDOM pairs it beats. The label comes from those two numbers, whatever the model.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace mystyle::engine {

struct MatchStrength {
  double same_type_percentile = 0;  ///< share of same-type catalog pairs with a lower cosine
  double random_percentile = 0;     ///< share of random catalog pairs with a lower cosine
  std::string label;                ///< "very close", "close", "related" or "weak"
};

class MatchCalibration {
 public:
  MatchCalibration() = default;
  /// From `vectors` ([ids.size(), dim]) and each row's group (the product type; empty = none): up to
  /// `pairs` seeded same-group pairs and as many random pairs of distinct rows, their cosines sorted.
  static MatchCalibration build(std::span<const float> vectors, std::size_t dim,
                                std::span<const std::string> groups, std::size_t pairs, std::uint64_t seed);
  /// Both sets hold at least one pair.
  bool ready() const { return !same_.empty() && !random_.empty(); }
  /// Where `cosine` falls. Labels: >= the same-type median "very close"... see the .cpp.
  MatchStrength strength(double cosine) const;
  /// Quantile q in [0, 1] of the same-type / random cosines (nearest rank).
  double same_type_quantile(double q) const;
  double random_quantile(double q) const;
  std::size_t same_type_pairs() const { return same_.size(); }
  std::size_t random_pairs() const { return random_.size(); }

 private:
  std::vector<float> same_, random_;  // sorted ascending
};

}  // namespace mystyle::engine
