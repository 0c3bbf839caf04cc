#pragma once
// Private to index/: the prepared query and the int8 scan of ExactIndex (stage 1 of its exact
// search). The scan proves, for every row it drops, that the row's exact key is below the k-th
// best; see exact_index.h for the three stages.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mystyle/index/id_filter.h"
#include "mystyle/index/metric.h"
#include "mystyle/index/scan_rows.h"
#include "mystyle/index/vector_index.h"

namespace mystyle::index::detail {

/// The query, prepared once for the int8 scan, the float narrowing and the double rescoring.
struct PreparedQuery {
  Metric metric = Metric::kCosine;
  std::vector<float> scan;           // float query: raw, or centred for Pearson
  std::vector<double> exact;         // double query for rescoring: raw, or centred for Pearson
  std::vector<std::int16_t> scan16;  // the scan query as int16 (times scan16_scale)
  float scan16_scale = 0;
  double norm = 0;      // |q| (cosine, Euclidean) or |q_c| (Pearson)
  double inv_norm = 0;  // 1/norm, 0 for a zero (or constant, Pearson) query
  // Worst-case float error of a row's float key: eps_fixed + eps_scaled * (row's factor).
  float eps_fixed = 0, eps_scaled = 0;
  float sum = 0;            // sum of the scan query's components (the int8 scan's mean term)
  float pearson_extra = 0;  // Pearson's int8 scan: extra error per unit of the row's |x|/|x_c|
};

PreparedQuery prepare_query(std::span<const float> q, Metric metric);

/// One row's int8 codes (dim of them) and its scan coefficients for each metric.
void quantise_row(const float* x, std::size_t dim, const ScanRowStats& stats, std::int8_t* code,
                  CosineScan& cosine, PearsonScan& pearson, EuclideanScan& euclidean);

/// What the scan reads: the rows' codes [n, dim] and coefficients, and their ids (for the filter).
struct ScanRows {
  std::size_t dim = 0;
  std::span<const std::int8_t> codes;
  std::span<const CosineScan> cosine;
  std::span<const PearsonScan> pearson;
  std::span<const EuclideanScan> euclidean;
  std::span<const std::int64_t> ids;
};

/// A row that may belong to the top k, and an upper bound of its exact key.
struct ScanCandidate {
  float upper;
  std::size_t row;
};

/// Every row (allowed by `filter`, may be null) whose key interval reaches the k-th best lower end:
/// a superset of the top k. Unordered.
std::vector<ScanCandidate> scan_int8(const ScanRows& rows, const PreparedQuery& q, std::size_t k,
                                     const IdFilter* filter);

}  // namespace mystyle::index::detail
