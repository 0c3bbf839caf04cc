#include "mystyle/eval/probe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "engine/engine_fixture.h"
#include "eval/eval_fixture.h"
#include "mystyle/core/error.h"
#include "mystyle/engine/embeddings.h"
#include "mystyle/train/family.h"

namespace mystyle::eval {
namespace {

// Rows around one centre per class, far apart: a linear classifier separates them.
struct Blobs {
  std::vector<float> x;
  std::vector<int> labels;
};
Blobs blobs(std::size_t per_class, std::size_t classes, std::size_t dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  Blobs b;
  for (std::size_t i = 0; i < per_class * classes; ++i) {
    const auto c = static_cast<int>(i % classes);
    b.labels.push_back(c);
    for (std::size_t j = 0; j < dim; ++j)
      b.x.push_back((j % classes == static_cast<std::size_t>(c) ? 3.0f : 0.0f) + noise(rng));
  }
  return b;
}

std::size_t argmax_row(const std::vector<float>& p, std::size_t row, std::size_t classes) {
  const auto first = p.begin() + static_cast<std::ptrdiff_t>(row * classes);
  return static_cast<std::size_t>(std::max_element(first, first + static_cast<std::ptrdiff_t>(classes)) -
                                  first);
}

TEST(Probe, ObjectiveGradientMatchesFiniteDifferences) {
  const std::size_t n = 12, dim = 5, classes = 4;
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n * dim), w(dim * classes), b(classes);
  for (float& v : x) v = g(rng);
  for (float& v : w) v = 0.5f * g(rng);
  for (float& v : b) v = 0.5f * g(rng);
  const std::vector<int> labels = {0, 1, 2, 3, -1, 1, 2, 0, 3, -1, 2, 1};  // two rows left out
  const double l2 = 0.3;
  std::vector<float> gw(w.size()), gb(b.size());
  softmax_objective(x, dim, labels, classes, w, b, l2, gw, gb);
  auto objective = [&] { return softmax_objective(x, dim, labels, classes, w, b, l2); };
  const float h = 1e-2f;
  for (std::size_t i = 0; i < w.size() + b.size(); ++i) {
    float& p = i < w.size() ? w[i] : b[i - w.size()];
    const float keep = p;
    p = keep + h;
    const double up = objective();
    p = keep - h;
    const double down = objective();
    p = keep;
    const double numeric = (up - down) / (2 * h);
    const double analytic = i < w.size() ? gw[i] : gb[i - w.size()];
    EXPECT_NEAR(analytic, numeric, 2e-3 + 1e-2 * std::abs(numeric)) << "parameter " << i;
  }
  // The rows left out change nothing: a different label on them gives the same objective.
  std::vector<int> other = labels;
  other[4] = other[9] = -1;
  EXPECT_DOUBLE_EQ(objective(), softmax_objective(x, dim, other, classes, w, b, l2));
  EXPECT_THROW(softmax_objective(x, dim, std::vector<int>(n, -1), classes, w, b, l2), Error);
}

TEST(Probe, SeparatesLinearlySeparableClassesOnNewRows) {
  const std::size_t classes = 3, dim = 6;
  const Blobs train = blobs(40, classes, dim, 1), test = blobs(20, classes, dim, 2);
  const SoftmaxProbe probe = fit_softmax_probe(train.x, dim, train.labels, classes);
  EXPECT_EQ(probe.iterations, ProbeFit{}.iterations);  // no validation rows: every step kept
  const std::vector<float> p = probe.probabilities(test.x);
  ASSERT_EQ(p.size(), test.labels.size() * classes);
  for (std::size_t i = 0; i < test.labels.size(); ++i) {
    EXPECT_EQ(argmax_row(p, i, classes), static_cast<std::size_t>(test.labels[i])) << "row " << i;
    double sum = 0;
    for (std::size_t c = 0; c < classes; ++c) sum += p[i * classes + c];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

TEST(Probe, EarlyStoppingKeepsTheStepsThatNameValidationRowsBest) {
  const std::size_t classes = 3, dim = 6;
  const Blobs train = blobs(40, classes, dim, 1), val = blobs(20, classes, dim, 3);
  ProbeFit fit;
  fit.iterations = 200;
  // Validation rows like the training rows: the kept steps name them all right.
  const SoftmaxProbe same = fit_softmax_probe(train.x, dim, train.labels, classes, fit, val.x, val.labels);
  EXPECT_GT(same.iterations, 0);
  const std::vector<float> p = same.probabilities(val.x);
  for (std::size_t i = 0; i < val.labels.size(); ++i)
    EXPECT_EQ(argmax_row(p, i, classes), std::size_t(val.labels[i]));
  // Validation labels shifted by one class: every step of training names them worse than the
  // untrained probe (which names class 0 for all, right for a third), so nothing past step 0 is kept.
  std::vector<int> shifted = val.labels;
  for (int& l : shifted) l = (l + 1) % static_cast<int>(classes);
  const SoftmaxProbe wrong = fit_softmax_probe(train.x, dim, train.labels, classes, fit, val.x, shifted);
  EXPECT_EQ(wrong.iterations, 0);
  for (float v : wrong.weights) EXPECT_EQ(v, 0.0f);
  EXPECT_THROW(fit_softmax_probe(train.x, dim + 1, train.labels, classes), Error);
}

// Real photos and a real model: the probes fit on the items of training designs and are scored on
// those of held-out designs, which are exactly the sample's held-out items.
TEST(Probe, RunOnRealPhotosScoresHeldOutDesignsOnly) {
  testing::TempDir dir;
  if (!testing::import_mango_sample(dir.path(), 150)) GTEST_SKIP() << "MANGO data set absent";
  const engine::Workspace ws(dir.path());
  ProbeOptions o;
  o.model = "seed64";
  o.threads = 2;
  o.fit.iterations = 50;
  EXPECT_THROW(run_probe(ws, o), Error);  // no model yet: the error names the command
  testing::train_one_epoch_and_embed(dir.path());
  std::size_t held = 0, trained = 0;
  std::set<std::string> held_designs;
  for (const auto& item : catalog::Catalog(dir.path()).all_items()) {
    if (catalog::is_held_out_design(item, o.split_seed)) {
      ++held;
      held_designs.insert(catalog::design_of(item.source_id));
    } else {
      ++trained;
    }
  }
  const ProbeReport r = run_probe(ws, o);
  EXPECT_EQ(r.held_out_items, held);
  EXPECT_EQ(r.held_out_designs, held_designs.size());
  EXPECT_EQ(r.train_items, trained);
  ASSERT_EQ(r.rows.size(), 4u);  // colour thumbnail, HSV histogram, the model, the model + histogram
  EXPECT_TRUE(r.rows[0].baseline && r.rows[1].baseline && !r.rows[2].baseline && !r.rows[3].baseline);
  EXPECT_EQ(r.rows[3].dim, r.rows[2].dim + r.rows[1].dim);
  for (const ProbeRow& row : r.rows) {
    for (std::size_t l = 0; l < kLabelCount; ++l) {
      EXPECT_GE(row.accuracy[l], 0.0);
      EXPECT_LE(row.accuracy[l], 1.0);
      EXPECT_GT(row.ranked_p[l], 0.0) << row.method << " " << kLabelNames[l];
      EXPECT_LE(row.ranked_p[l], 1.0);
    }
  }
  // Category (7 values, most items clothing) is learnt from any of them far above chance.
  EXPECT_GT(r.rows[0].accuracy[2], 0.4);
  const nlohmann::json doc = to_json(r);
  EXPECT_EQ(doc["rows"].size(), 4u);
  EXPECT_EQ(doc["held_out_items"], held);
  EXPECT_NE(format_table(r).find("held-out accuracy"), std::string::npos);
}

}  // namespace
}  // namespace mystyle::eval
