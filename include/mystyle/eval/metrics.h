#pragma once
/// Ranking and classification metrics of the evaluation, on plain vectors so that they can be
/// checked by hand. All functions are pure and thread-safe.
#include <cstddef>
#include <span>
#include <vector>

namespace mystyle::eval {

/// Fraction of the first k entries of `relevant` (a ranking, best first, true = relevant) that are
/// relevant. Divides by k even when the ranking is shorter (missing entries count as misses).
/// k = 0 gives 0.
double precision_at_k(std::span<const bool> relevant, std::size_t k);

/// Average precision of a full ranking: the mean, over the relevant entries, of the precision at
/// each relevant entry's rank. `total_relevant` is the number of relevant items in the whole
/// collection (relevant items missing from the ranking contribute 0); 0 = count the trues.
/// Returns 0 when there is nothing relevant.
double average_precision(std::span<const bool> relevant, std::size_t total_relevant = 0);

/// Area under the ROC curve of `scores` (higher = more likely positive) against `labels`
/// (true = positive): the probability that a random positive outscores a random negative, ties
/// counting one half (Mann-Whitney U with mid-ranks). Returns 0.5 when either class is empty.
double roc_auc(std::span<const double> scores, std::span<const bool> labels);

/// Credit of one fill-in-the-blank answer when the system gives `scores` to the candidates and
/// `answer` is the index of the right one: 1 when it alone scores best, 1/t when it ties with
/// t - 1 others for the best score (the expected accuracy of breaking ties at random), else 0.
double fitb_credit(std::span<const double> scores, std::size_t answer);

/// The index of the best-scoring candidate, the first one among ties (candidates are shuffled
/// when questions are made, so the first is a random one).
std::size_t best_candidate(std::span<const double> scores);

/// Mean of `values`, 0 for none.
double mean(std::span<const double> values);

}  // namespace mystyle::eval
