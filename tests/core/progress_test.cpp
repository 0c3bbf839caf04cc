#include "mystyle/core/progress.h"

#include <gtest/gtest.h>

namespace mystyle {
namespace {

TEST(FormatRate, FastRatesAreWholeNumbers) {
  EXPECT_EQ(format_rate(664.4, "images"), "664 images/s");
  EXPECT_EQ(format_rate(10.0, "items"), "10 items/s");
  EXPECT_EQ(format_rate(9.96, "items"), "10 items/s");
}

TEST(FormatRate, SlowRatesKeepTheirDigits) {
  // A probe that takes seconds must not read "0 probes/s".
  EXPECT_EQ(format_rate(2.54, "probes"), "2.5 probes/s");
  EXPECT_EQ(format_rate(1.0, "probes"), "1.0 probes/s");
  EXPECT_EQ(format_rate(0.35, "probes"), "0.35 probes/s");
  EXPECT_EQ(format_rate(1.0 / 120, "probes"), "0.0083 probes/s");
}

TEST(FormatRate, NothingDoneIsZero) {
  EXPECT_EQ(format_rate(0.0, "images"), "0 images/s");
  EXPECT_EQ(format_rate(-1.0, "images"), "0 images/s");
}

TEST(FormatDuration, SecondsMinutesHours) {
  EXPECT_EQ(format_duration(2.34), "2.3 s");
  EXPECT_EQ(format_duration(65), "1 min 05 s");
  EXPECT_EQ(format_duration(3600 + 120), "1 h 02 min");
}

}  // namespace
}  // namespace mystyle
