#pragma once
/// Embeddings made from rows written out in a test, shared by the embeddings-file and index tests.
#include <cstdint>
#include <map>
#include <vector>

#include "mystyle/engine/embeddings.h"

namespace mystyle::testing {

/// The rows (id -> vector of `dim` numbers) as Embeddings, ids in order.
inline engine::Embeddings embeddings_of(const std::map<std::int64_t, std::vector<float>>& rows, int dim,
                                        std::uint64_t model_hash) {
  engine::Embeddings e;
  e.dim = dim;
  e.model_hash = model_hash;
  for (const auto& [id, v] : rows) {
    e.ids.push_back(id);
    e.vectors.insert(e.vectors.end(), v.begin(), v.end());
  }
  return e;
}

}  // namespace mystyle::testing
