#include "mystyle/engine/match_strength.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace mystyle::engine {
namespace {

double cosine(const float* a, const float* b, std::size_t dim) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t k = 0; k < dim; ++k) {
    ab += static_cast<double>(a[k]) * b[k];
    aa += static_cast<double>(a[k]) * a[k];
    bb += static_cast<double>(b[k]) * b[k];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

double share_below(const std::vector<float>& sorted, double x) {
  const auto it = std::lower_bound(sorted.begin(), sorted.end(), static_cast<float>(x));
  return static_cast<double>(it - sorted.begin()) / static_cast<double>(sorted.size());
}

double quantile(const std::vector<float>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[i];
}

// Label thresholds: a match at least as close as the median look-alike of its type is "very close";
// one in the top half of random pairs' upper tail "related".
constexpr double kVeryClose = 0.5;   // same-type percentile
constexpr double kClose = 0.2;       // same-type percentile
constexpr double kRelated = 0.9;     // random percentile

}  // namespace

MatchCalibration MatchCalibration::build(std::span<const float> vectors, std::size_t dim,
                                         std::span<const std::string> groups, std::size_t pairs,
                                         std::uint64_t seed) {
  MatchCalibration c;
  const std::size_t n = groups.size();
  if (dim == 0 || n < 2 || vectors.size() != n * dim) return c;
  std::mt19937_64 rng(seed);
  std::map<std::string, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < n; ++i) {
    if (!groups[i].empty()) members[groups[i]].push_back(i);
  }
  // Same-group pairs: a row drawn uniformly among rows whose group has another member, then a partner.
  std::vector<std::size_t> eligible;
  for (std::size_t i = 0; i < n; ++i) {
    if (!groups[i].empty() && members[groups[i]].size() > 1) eligible.push_back(i);
  }
  for (std::size_t p = 0; p < pairs && !eligible.empty(); ++p) {
    const std::size_t a = eligible[rng() % eligible.size()];
    const auto& group = members[groups[a]];
    std::size_t b = a;
    while (b == a) b = group[rng() % group.size()];
    c.same_.push_back(static_cast<float>(cosine(&vectors[a * dim], &vectors[b * dim], dim)));
  }
  for (std::size_t p = 0; p < pairs; ++p) {
    const std::size_t a = rng() % n;
    std::size_t b = a;
    while (b == a) b = rng() % n;
    c.random_.push_back(static_cast<float>(cosine(&vectors[a * dim], &vectors[b * dim], dim)));
  }
  std::ranges::sort(c.same_);
  std::ranges::sort(c.random_);
  return c;
}

MatchStrength MatchCalibration::strength(double cosine_score) const {
  MatchStrength s;
  if (!ready()) return s;
  s.same_type_percentile = share_below(same_, cosine_score);
  s.random_percentile = share_below(random_, cosine_score);
  s.label = s.same_type_percentile >= kVeryClose ? "very close"
            : s.same_type_percentile >= kClose   ? "close"
            : s.random_percentile >= kRelated    ? "related"
                                                 : "weak";
  return s;
}

double MatchCalibration::same_type_quantile(double q) const {
  return quantile(same_, q);
}

double MatchCalibration::random_quantile(double q) const {
  return quantile(random_, q);
}

}  // namespace mystyle::engine
