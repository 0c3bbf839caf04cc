#pragma once
// The trusted reference for asking by colour: a brute-force cosine ranking, in double, of a query
// against the embedding files the workspace holds (read here, not through the index), restricted to
// the items a test allows. An item scores as its best row (its photo, and its edited views when given).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "mystyle/engine/embeddings.h"
#include "mystyle/engine/photo_views.h"
#include "mystyle/index/vector_index.h"

namespace mystyle::testing {

inline double cosine(std::span<const float> a, std::span<const float> b) {
  double dot = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return dot / (std::sqrt(aa) * std::sqrt(bb));
}

/// Every allowed item of `items` (and of `views`, rows keyed by view id, when not null) ranked by its
/// best cosine with `query`, best first; ties by item id.
inline std::vector<index::Neighbor> exact_ranking(std::span<const float> query,
                                                  const engine::Embeddings& items,
                                                  const engine::Embeddings* views,
                                                  const std::function<bool(std::int64_t)>& allowed) {
  std::map<std::int64_t, double> best;
  auto visit = [&](std::int64_t item, std::span<const float> row) {
    if (!allowed(item)) return;
    const double s = cosine(query, row);
    auto [it, fresh] = best.emplace(item, s);
    if (!fresh) it->second = std::max(it->second, s);
  };
  for (std::size_t i = 0; i < items.size(); ++i) visit(items.ids[i], items.row(i));
  if (views != nullptr) {
    for (std::size_t i = 0; i < views->size(); ++i) visit(engine::item_of_view(views->ids[i]), views->row(i));
  }
  std::vector<index::Neighbor> out;
  for (const auto& [id, score] : best) out.push_back({id, score});
  std::ranges::stable_sort(
      out, [](const index::Neighbor& a, const index::Neighbor& b) { return a.score > b.score; });
  return out;
}

}  // namespace mystyle::testing
