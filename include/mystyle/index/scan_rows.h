#pragma once
/// The exact index's per-row numbers for its int8 scan (internal to index/: ExactIndex stores them,
/// src/index/exact_scan.cpp reads them). Apart from exact_index.h so the scan needs no ExactIndex.

namespace mystyle::index {

/// Per-row statistics.
struct ScanRowStats {
  float norm = 0, sq_norm = 0, inv_norm = 0, inv_centred_norm = 0, centred_ratio = 0;
};
/// Per-metric scan coefficients: key ~ a * (q . code) [+ b * sum(q)] [- sq_norm], within err
/// (cosine, Pearson: plus a query term times `ratio`; Euclidean: err * |q| plus a rounding term in
/// (|x| + |q|)^2).
struct CosineScan {
  float a = 0, b = 0, err = 0;
};
struct PearsonScan {
  float a = 0, err = 0, ratio = 0;
};
struct EuclideanScan {
  float a = 0, b = 0, sq_norm = 0, err = 0, norm = 0;
};

}  // namespace mystyle::index
