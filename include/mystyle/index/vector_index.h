#pragma once
/// The one similarity-search interface (faiss-like): vectors of a fixed dimension, keyed by int64
/// item ids, searched for the k best matches. Implementations: ExactIndex (brute force, exact) and
/// FaissIndex (HNSW, approximate).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mystyle/index/id_filter.h"
#include "mystyle/index/metric.h"

namespace mystyle::index {

/// One search result. `score`: higher is better (cosine or Pearson in [-1, 1]; Euclidean 1/d).
struct Neighbor {
  std::int64_t id = 0;
  double score = 0.0;
  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

/// Per-query options. `metric` unset = the index's own metric; `filter` null = every item.
/// The filter is borrowed for the duration of the call.
struct SearchParams {
  std::optional<Metric> metric;
  const IdFilter* filter = nullptr;
};

/// Thread-safety: const members (search, search_batch, size, dim) may run concurrently with each
/// other; add/remove need exclusive access (no search running).
/// Errors (mystyle::Error, kInvalidInput): a vector span whose length is not a multiple of dim()
/// or disagrees with the id count, a query of the wrong length, non-finite values, duplicate ids.
class VectorIndex {
 public:
  virtual ~VectorIndex() = default;

  /// Adds `ids.size()` vectors, `vectors` row-major of shape [ids.size(), dim]. Ids must be new.
  /// Incremental: existing entries are not rebuilt. Strong guarantee: on error nothing is added.
  virtual void add(std::span<const std::int64_t> ids, std::span<const float> vectors) = 0;

  /// Removes the given ids; unknown ids are ignored. Returns how many were removed.
  virtual std::size_t remove(std::span<const std::int64_t> ids) = 0;
  /// The ids among `ids` that this index holds with another vector than their row of `vectors`
  /// ([ids.size(), dim]), compared as it stores them (normalised where it normalises); ids it does
  /// not hold are skipped. What engine::sync_index re-adds when the rows of a saved index changed.
  virtual std::vector<std::int64_t> changed(std::span<const std::int64_t> ids,
                                            std::span<const float> vectors) const = 0;

  /// The min(k, matching items) best items for `query` (length dim), best first.
  virtual std::vector<Neighbor> search(std::span<const float> query, std::size_t k,
                                       const SearchParams& params = {}) const = 0;

  /// search() for each row of `queries` (shape [n, dim]); spreads queries over `threads` threads
  /// (0 = hardware concurrency). Result i belongs to query row i.
  virtual std::vector<std::vector<Neighbor>> search_batch(std::span<const float> queries, std::size_t k,
                                                          const SearchParams& params = {},
                                                          std::size_t threads = 0) const;

  /// Number of live (not removed) items.
  virtual std::size_t size() const = 0;
  /// Whether `id` is a live item.
  virtual bool contains(std::int64_t id) const = 0;
  /// Vector dimension, fixed at construction.
  virtual std::size_t dim() const = 0;
  /// The metric used when SearchParams::metric is unset.
  virtual Metric metric() const = 0;
};

}  // namespace mystyle::index
