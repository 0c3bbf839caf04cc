#pragma once
/// Similarity metrics of the original prototype, with its exact semantics.
#include <string_view>

namespace mystyle::index {

/// How a query is compared with an indexed vector. Every metric reports a score where higher is
/// better, and results are ordered best first.
enum class Metric {
  kCosine,     ///< cosine of the raw vectors (sklearn cosine_similarity); a zero vector scores 0
  kEuclidean,  ///< ranked by Euclidean distance d, ascending; score reported as 1/d (inf at d = 0)
  kPearson,    ///< correlation across a vector's components (numpy corrcoef of two rows); a constant
               ///< vector (undefined correlation) scores 0
};

/// "cosine", "euclidean", "pearson".
std::string_view metric_name(Metric metric);

/// Inverse of metric_name; throws mystyle::Error (kInvalidInput) naming the unknown text.
Metric parse_metric(std::string_view name);

}  // namespace mystyle::index
