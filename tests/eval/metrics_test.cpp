#include "mystyle/eval/metrics.h"

#include <gtest/gtest.h>

#include <array>

namespace mystyle::eval {
namespace {

TEST(Metrics, PrecisionAtK) {
  const std::array<bool, 5> r = {true, false, true, false, false};
  EXPECT_DOUBLE_EQ(precision_at_k(r, 1), 1.0);
  EXPECT_DOUBLE_EQ(precision_at_k(r, 2), 0.5);
  EXPECT_DOUBLE_EQ(precision_at_k(r, 5), 0.4);
  EXPECT_DOUBLE_EQ(precision_at_k(r, 10), 0.2);  // a short ranking counts the missing ranks as misses
  EXPECT_DOUBLE_EQ(precision_at_k(r, 0), 0.0);
}

// AP of relevant ranks 1 and 3: (1/1 + 2/3) / 2; with a third relevant item never retrieved: / 3.
TEST(Metrics, AveragePrecision) {
  const std::array<bool, 4> r = {true, false, true, false};
  EXPECT_DOUBLE_EQ(average_precision(r), (1.0 + 2.0 / 3.0) / 2.0);
  EXPECT_DOUBLE_EQ(average_precision(r, 3), (1.0 + 2.0 / 3.0) / 3.0);
  const std::array<bool, 3> none = {false, false, false};
  EXPECT_DOUBLE_EQ(average_precision(none), 0.0);
  const std::array<bool, 3> last = {false, false, true};
  EXPECT_DOUBLE_EQ(average_precision(last), 1.0 / 3.0);
}

TEST(Metrics, AucPerfectInverseAndRandom) {
  const std::array<double, 4> s = {0.9, 0.8, 0.3, 0.1};
  const std::array<bool, 4> good = {true, true, false, false}, bad = {false, false, true, true};
  EXPECT_DOUBLE_EQ(roc_auc(s, good), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(s, bad), 0.0);
  const std::array<bool, 4> mixed = {true, false, true,
                                     false};  // pairs won: (0.9>0.8, 0.9>0.1, 0.3>0.1) of 4
  EXPECT_DOUBLE_EQ(roc_auc(s, mixed), 0.75);
}

// Ties count one half: sklearn's roc_auc_score([1,0,1,0], [0.5,0.5,0.7,0.2]) = 0.875.
TEST(Metrics, AucTiesCountHalf) {
  const std::array<double, 4> s = {0.5, 0.5, 0.7, 0.2};
  const std::array<bool, 4> labels = {true, false, true, false};
  EXPECT_DOUBLE_EQ(roc_auc(s, labels), 0.875);
  const std::array<double, 4> all_tied = {1, 1, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc(all_tied, labels), 0.5);
  const std::array<bool, 4> one_class = {true, true, true, true};
  EXPECT_DOUBLE_EQ(roc_auc(s, one_class), 0.5);
}

TEST(Metrics, FitbCreditSharesTies) {
  const std::array<double, 4> clear = {0.1, 0.9, 0.2, 0.3};
  EXPECT_DOUBLE_EQ(fitb_credit(clear, 1), 1.0);
  EXPECT_DOUBLE_EQ(fitb_credit(clear, 0), 0.0);
  const std::array<double, 4> tie = {0.5, 0.5, 0.1, 0.5};
  EXPECT_DOUBLE_EQ(fitb_credit(tie, 3), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(fitb_credit(tie, 2), 0.0);
  const std::array<double, 4> flat = {0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(fitb_credit(flat, 2), 0.25);  // a scorer that knows nothing earns chance
  EXPECT_EQ(best_candidate(tie), 0u);
  EXPECT_EQ(best_candidate(clear), 1u);
}

}  // namespace
}  // namespace mystyle::eval
