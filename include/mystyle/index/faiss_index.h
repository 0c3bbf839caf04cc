#pragma once
/// Approximate similarity search for large catalogs: FAISS HNSW (IndexHNSWFlat).
///
/// Vectors are stored prepared for the index's metric: unit vectors with inner product (cosine),
/// centred unit vectors with inner product (Pearson), raw vectors with L2 (Euclidean). Scores are
/// FAISS's float32 scores converted to the metric's score (Euclidean: 1/d).
///
/// Removal: FAISS HNSW cannot remove nodes, so a removed item becomes a tombstone: it stays in the
/// graph (still used for routing) and is excluded at search by a FAISS IDSelector (together with
/// the caller's filter). Tombstones cost memory until rebuild() drops them.
/// Filters: an allow-list of at most `exact_filter_max` ids is searched exactly (brute force over
/// those items); larger filters go through HNSW, and when HNSW returns fewer than k matches the
/// search falls back to a brute-force scan of the matching items.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mystyle/index/vector_index.h"

namespace faiss {
struct IndexHNSWFlat;
}

namespace mystyle {
class ByteWriter;
class ByteReader;
}  // namespace mystyle

namespace mystyle::index {

/// HNSW settings. Defaults give recall@10 >= 0.99 against ExactIndex on embedding-like 128-d
/// vectors (20k in tests/index/faiss_index_test.cpp; 100k and 1M in bench/index_bench.cpp).
struct HnswSettings {
  int neighbors_per_node = 32;          ///< M: graph degree (level 0 has 2M)
  int ef_construction = 100;            ///< candidate list size while inserting
  int ef_search = 64;                   ///< candidate list size while searching (raised to k when smaller)
  std::size_t exact_filter_max = 4096;  ///< allow-lists up to this size are searched exactly
};

class FaissIndex final : public VectorIndex {
 public:
  /// `dim` >= 1. Only `metric` can be searched (another metric is mystyle::Error kUnsupported).
  FaissIndex(std::size_t dim, Metric metric, HnswSettings settings = {});
  ~FaissIndex() override;
  FaissIndex(FaissIndex&&) noexcept;
  FaissIndex& operator=(FaissIndex&&) noexcept;

  /// Inserts into the graph (FAISS parallelises the insertion with OpenMP).
  void add(std::span<const std::int64_t> ids, std::span<const float> vectors) override;
  /// Tombstones the ids (see the file comment); O(ids).
  std::size_t remove(std::span<const std::int64_t> ids) override;
  std::vector<std::int64_t> changed(std::span<const std::int64_t> ids,
                                    std::span<const float> vectors) const override;
  std::vector<Neighbor> search(std::span<const float> query, std::size_t k,
                               const SearchParams& params = {}) const override;
  /// One FAISS call for all queries, spread over FAISS's OpenMP threads (`threads` when non-zero,
  /// else the OpenMP default). A single query runs on the calling thread only.
  std::vector<std::vector<Neighbor>> search_batch(std::span<const float> queries, std::size_t k,
                                                  const SearchParams& params = {},
                                                  std::size_t threads = 0) const override;

  std::size_t size() const override { return slot_of_.size(); }
  bool contains(std::int64_t id) const override { return slot_of_.contains(id); }
  std::size_t dim() const override { return dim_; }
  Metric metric() const override { return metric_; }
  const HnswSettings& settings() const { return settings_; }
  /// Live item ids, in insertion order.
  std::vector<std::int64_t> ids() const;
  /// Graph nodes that are tombstones.
  std::size_t tombstones() const { return slot_ids_.size() - slot_of_.size(); }
  /// Rebuilds the graph from the live items, dropping tombstones (insertion order kept).
  void rebuild();
  /// Bytes held (graph, stored vectors, ids), for memory reports.
  std::size_t memory_bytes() const;

  /// Serialisation for index_io.cpp (the FAISS graph is written with faiss::write_index, not
  /// rebuilt on load). read_state reads `in`, a reader over `payload`, to its end: the graph is the
  /// last field, and FAISS reads it from `payload`'s bytes without a copy of them.
  void write_state(ByteWriter& out) const;
  static FaissIndex read_state(ByteReader& in, std::string_view payload, std::size_t dim, Metric metric);

 private:
  std::vector<float> prepare(std::span<const float> vectors) const;
  std::vector<Neighbor> brute_force(const float* prepared_query, std::size_t k, const IdFilter* filter) const;
  double to_score(float faiss_distance) const;

  std::size_t dim_;
  Metric metric_;
  HnswSettings settings_;
  std::unique_ptr<faiss::IndexHNSWFlat> hnsw_;
  std::vector<std::int64_t> slot_ids_;                      ///< graph node -> item id
  std::vector<std::uint8_t> alive_;                         ///< graph node -> 0 for a tombstone
  std::unordered_map<std::int64_t, std::int64_t> slot_of_;  ///< live item id -> graph node
};

}  // namespace mystyle::index
