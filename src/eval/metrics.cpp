#include "mystyle/eval/metrics.h"

#include <algorithm>
#include <numeric>

namespace mystyle::eval {

double precision_at_k(std::span<const bool> relevant, std::size_t k) {
  if (k == 0) return 0;
  const std::size_t n = std::min(k, relevant.size());
  return static_cast<double>(
             std::count(relevant.begin(), relevant.begin() + static_cast<std::ptrdiff_t>(n), true)) /
         static_cast<double>(k);
}

double average_precision(std::span<const bool> relevant, std::size_t total_relevant) {
  if (total_relevant == 0)
    total_relevant = static_cast<std::size_t>(std::count(relevant.begin(), relevant.end(), true));
  if (total_relevant == 0) return 0;
  double sum = 0;
  std::size_t hits = 0;
  for (std::size_t i = 0; i < relevant.size(); ++i) {
    if (!relevant[i]) continue;
    ++hits;
    sum += static_cast<double>(hits) / static_cast<double>(i + 1);
  }
  return sum / static_cast<double>(total_relevant);
}

double roc_auc(std::span<const double> scores, std::span<const bool> labels) {
  const std::size_t n = std::min(scores.size(), labels.size());
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Mid-ranks: tied scores share the mean of their ranks, so a tie counts one half.
  double positive_rank_sum = 0;
  std::size_t positives = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t t = i; t < j; ++t) {
      if (labels[order[t]]) {
        positive_rank_sum += mid_rank;
        ++positives;
      }
    }
    i = j;
  }
  const std::size_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  const double p = static_cast<double>(positives);
  const double u = positive_rank_sum - p * (p + 1) / 2.0;
  return u / (p * static_cast<double>(negatives));
}

double fitb_credit(std::span<const double> scores, std::size_t answer) {
  if (answer >= scores.size()) return 0;
  const double best = *std::max_element(scores.begin(), scores.end());
  if (scores[answer] != best) return 0;
  return 1.0 / static_cast<double>(std::count(scores.begin(), scores.end(), best));
}

std::size_t best_candidate(std::span<const double> scores) {
  return static_cast<std::size_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
}

double mean(std::span<const double> values) {
  if (values.empty()) return 0;
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

}  // namespace mystyle::eval
