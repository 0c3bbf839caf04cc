#pragma once
// Private: validation of caller-supplied vectors, shared by the index implementations.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <unordered_set>

#include "mystyle/core/error.h"

namespace mystyle::index::detail {

/// Throws mystyle::Error (kInvalidInput) for a query of the wrong length, with non-finite values
/// or a squared norm beyond float range.
inline void check_query(std::span<const float> query, std::size_t dim) {
  if (query.size() != dim) {
    throw Error(fmt::format("query has {} values, the index has dim {}", query.size(), dim));
  }
  double sq = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    if (!std::isfinite(query[i])) throw Error(fmt::format("query value {} is not finite", i));
    sq += static_cast<double>(query[i]) * query[i];
  }
  if (sq > 1e30) throw Error(fmt::format("query is too large (|q|^2 = {})", sq));
}

/// Throws mystyle::Error (kInvalidInput) unless `vectors` is [ids.size(), dim].
inline void check_rows(std::span<const std::int64_t> ids, std::span<const float> vectors, std::size_t dim) {
  if (vectors.size() != ids.size() * dim) {
    throw Error(fmt::format("{} ids need {} values of dim {}, got {}", ids.size(), ids.size() * dim, dim,
                            vectors.size()));
  }
}

/// Throws mystyle::Error (kInvalidInput) unless `vectors` is [ids.size(), dim] of finite values
/// whose squared norms fit a float, and every id is new (`exists`) and unique within the batch.
template <typename Exists>
void check_add_input(std::span<const std::int64_t> ids, std::span<const float> vectors, std::size_t dim,
                     Exists exists) {
  if (vectors.size() != ids.size() * dim) {
    throw Error(fmt::format("add: {} ids need {} values of dim {}, got {}", ids.size(), ids.size() * dim, dim,
                            vectors.size()));
  }
  for (std::size_t r = 0; r < ids.size(); ++r) {
    double sq = 0;
    for (std::size_t i = 0; i < dim; ++i) {
      const float v = vectors[r * dim + i];
      if (!std::isfinite(v))
        throw Error(fmt::format("add: vector {} (id {}) has a non-finite value", r, ids[r]));
      sq += static_cast<double>(v) * v;
    }
    if (sq > 1e30)
      throw Error(fmt::format("add: vector {} (id {}) is too large (|x|^2 = {})", r, ids[r], sq));
  }
  std::unordered_set<std::int64_t> batch;
  batch.reserve(ids.size());
  for (std::int64_t id : ids) {
    if (exists(id) || !batch.insert(id).second) throw Error(fmt::format("add: id {} is already present", id));
  }
}

}  // namespace mystyle::index::detail
