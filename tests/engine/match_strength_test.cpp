#include "mystyle/engine/match_strength.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace mystyle::engine {
namespace {

// Two groups on two orthogonal axes, each member slightly rotated: same-group cosines are near 1,
// cross-group near 0; percentiles are checked against counts made here.
TEST(MatchCalibration, PlacesScoresAmongSameTypeAndRandomPairs) {
  std::vector<float> v;
  std::vector<std::string> groups;
  for (int g = 0; g < 2; ++g) {
    for (int i = 0; i < 10; ++i) {
      const double a = 0.02 * i;
      v.push_back(static_cast<float>(g == 0 ? std::cos(a) : -std::sin(a)));
      v.push_back(static_cast<float>(g == 0 ? std::sin(a) : std::cos(a)));
      groups.push_back(g == 0 ? "jeans" : "shirt");
    }
  }
  const auto c = MatchCalibration::build(v, 2, groups, 5000, 3);
  ASSERT_TRUE(c.ready());
  EXPECT_EQ(c.same_type_pairs(), 5000u);
  // Same-group cosines lie in [cos(0.18), 1]; random pairs are about half cross-group (|cos| < 0.18).
  EXPECT_GE(c.same_type_quantile(0.0), std::cos(0.18) - 1e-6);
  EXPECT_LT(c.random_quantile(0.25), 0.2);
  const MatchStrength top = c.strength(1.0 + 1e-6);
  EXPECT_DOUBLE_EQ(top.same_type_percentile, 1.0);
  EXPECT_EQ(top.label, "very close");
  const MatchStrength none = c.strength(0.0);
  EXPECT_DOUBLE_EQ(none.same_type_percentile, 0.0);
  EXPECT_EQ(none.label, "weak");
  // Between the groups' medians: the share of same-group pairs below 0.995 matches a direct count.
  int below = 0, total = 0;
  for (int a = 0; a < 10; ++a) {
    for (int b = 0; b < 10; ++b) {
      if (a == b) continue;
      ++total;
      below += std::cos(0.02 * (a - b)) < 0.995;
    }
  }
  EXPECT_NEAR(c.strength(0.995).same_type_percentile, static_cast<double>(below) / total, 0.03);
}

TEST(MatchCalibration, TooFewRowsIsNotReady) {
  const std::vector<float> v = {1, 0};
  const std::vector<std::string> g = {"a"};
  EXPECT_FALSE(MatchCalibration::build(v, 2, g, 100, 1).ready());
  EXPECT_EQ(MatchCalibration().strength(0.5).label, "");
}

}  // namespace
}  // namespace mystyle::engine
