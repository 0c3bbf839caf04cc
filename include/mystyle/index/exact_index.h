#pragma once
/// Brute-force similarity search with the original prototype's exact rankings.
///
/// Storage: one contiguous row-major float32 array [size, dim] in insertion order, plus five
/// float32 statistics per row (norm, squared norm, 1/norm, 1/centred norm, norm/centred norm), so
/// one stored copy serves all three metrics: cosine = x.q / (|x||q|), Euclidean d^2 = |x|^2 - 2x.q
/// + |q|^2, Pearson = x.q_c / (|x_c||q_c|) with q_c the centred query (sum q_c = 0, hence x.q_c =
/// x_c.q_c). Beside it, the scan copy: each row as its mean plus int8 codes of the centred row
/// (x = mean + scale * code + residual, the residual's norm kept), and per metric a few floats
/// that turn an int8 dot product into the metric's key with a rigorous error bound.
///
/// Exactness, in three stages: (1) the int8 scan (a quarter of the float array's memory traffic)
/// gives every row an interval that surely holds its exact key, and keeps the rows whose upper end
/// reaches the k-th best lower end; (2) those candidates get float32 keys with the float rounding
/// bound, narrowing them the same way; (3) the survivors are rescored in double. Every dropped row
/// is proven worse than the k-th result, so results always equal the double-precision ranking of
/// the stored float32 vectors, ties broken by insertion order (earlier first); this reproduces the
/// original's float64 top-10s. Memory: (dim + 5) * 4 + dim + 40 bytes + the id (8) and its map
/// entry per item.
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "mystyle/index/scan_rows.h"
#include "mystyle/index/vector_index.h"

namespace mystyle::index {

class ExactIndex final : public VectorIndex {
 public:
  /// `dim` >= 1 (else mystyle::Error kInvalidInput). `metric` is the default for searches; every
  /// metric can be asked for per query.
  explicit ExactIndex(std::size_t dim, Metric metric = Metric::kCosine);

  void add(std::span<const std::int64_t> ids, std::span<const float> vectors) override;
  /// Compacts the storage in one pass, keeping insertion order (O(size * dim)).
  std::size_t remove(std::span<const std::int64_t> ids) override;
  std::vector<std::int64_t> changed(std::span<const std::int64_t> ids,
                                    std::span<const float> vectors) const override;
  std::vector<Neighbor> search(std::span<const float> query, std::size_t k,
                               const SearchParams& params = {}) const override;

  std::size_t size() const override { return ids_.size(); }
  std::size_t dim() const override { return dim_; }
  Metric metric() const override { return metric_; }

  /// Ids in insertion order, and the vectors in the same order (shape [size, dim]).
  std::span<const std::int64_t> ids() const { return ids_; }
  std::span<const float> vectors() const { return data_; }
  /// Whether `id` is present.
  bool contains(std::int64_t id) const override { return row_of_.contains(id); }
  /// Bytes held by this index (vectors, statistics, ids and the id map), for memory reports.
  std::size_t memory_bytes() const;

  /// Per-row statistics and per-metric scan coefficients (internal; scan_rows.h).
  using RowStats = ScanRowStats;
  using CosineScan = index::CosineScan;
  using PearsonScan = index::PearsonScan;
  using EuclideanScan = index::EuclideanScan;

 private:
  std::size_t dim_;
  Metric metric_;
  std::vector<std::int64_t> ids_;
  std::vector<float> data_;
  std::vector<RowStats> stats_;
  std::vector<std::int8_t> codes_;  // [size, dim]
  std::vector<CosineScan> cosine_;
  std::vector<PearsonScan> pearson_;
  std::vector<EuclideanScan> euclidean_;
  std::unordered_map<std::int64_t, std::size_t> row_of_;
};

}  // namespace mystyle::index
