#include "mystyle/index/exact_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "dot_kernel.h"
#include "mystyle/core/error.h"
#include "vector_checks.h"

namespace mystyle::index {
namespace {

constexpr double kUnitRoundoff = 0x1p-24;  // float32
constexpr std::size_t kBlockRows = 256;    // 128 KB of 128-d rows: the dot outputs stay in L1

// The query, prepared once for both the float scan and the double rescoring.
struct PreparedQuery {
  Metric metric;
  std::vector<float> scan;    // float query for the scan: raw, or centred for Pearson
  std::vector<double> exact;  // double query for rescoring: raw, or centred for Pearson
  double norm = 0;            // |q| (cosine, Euclidean) or |q_c| (Pearson)
  double inv_norm = 0;        // 1/norm, 0 for a zero (or constant, Pearson) query
  // Worst-case float error of a row's scan key: eps_fixed + eps_scaled * (row's factor).
  float eps_fixed = 0, eps_scaled = 0;
};

PreparedQuery prepare_query(std::span<const float> q, Metric metric) {
  const std::size_t n = q.size();
  PreparedQuery p{metric, {}, std::vector<double>(q.begin(), q.end())};
  double sum_of_centred = 0;
  if (metric == Metric::kPearson) {
    double mean = 0;
    for (double v : p.exact) mean += v;
    mean /= static_cast<double>(n);
    for (double& v : p.exact) v -= mean;
    for (double v : p.exact) sum_of_centred += v;
  }
  double sq = 0;
  for (double v : p.exact) sq += v * v;
  p.norm = std::sqrt(sq);
  p.inv_norm = p.norm > 0 ? 1.0 / p.norm : 0.0;
  p.scan.assign(p.exact.begin(), p.exact.end());
  // Rounding bound of an n-term float dot product (any order, FMA or not), with a safety factor 2.
  const double gamma = 2.0 * static_cast<double>(n + 8) * kUnitRoundoff;
  switch (metric) {
    case Metric::kCosine:
      p.eps_fixed = static_cast<float>(gamma + 8 * kUnitRoundoff);
      break;
    case Metric::kEuclidean:
      p.eps_scaled = static_cast<float>(2 * gamma + 8 * kUnitRoundoff);  // times (|x| + |q|)^2
      break;
    case Metric::kPearson:
      // x.q_c equals x_c.q_c only up to mean(x) * sum(q_c) and the float rounding of q_c.
      p.eps_fixed = static_cast<float>(8 * kUnitRoundoff);
      p.eps_scaled = static_cast<float>(
          gamma + 2 * kUnitRoundoff +
          (p.norm > 0 ? std::abs(sum_of_centred) / (std::sqrt(static_cast<double>(n)) * p.norm) : 0.0));
      break;
  }
  return p;
}

// The metric's key in double (higher is better; Euclidean: -d^2) for one stored row.
double exact_key(const float* x, const PreparedQuery& q) {
  const std::size_t n = q.exact.size();
  switch (q.metric) {
    case Metric::kCosine: {
      double dot = 0, sq = 0;
      for (std::size_t i = 0; i < n; ++i) {
        dot += x[i] * q.exact[i];
        sq += static_cast<double>(x[i]) * x[i];
      }
      return sq > 0 && q.norm > 0 ? dot / (std::sqrt(sq) * q.norm) : 0.0;
    }
    case Metric::kEuclidean: {
      double d2 = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double diff = x[i] - q.exact[i];
        d2 += diff * diff;
      }
      return -d2;
    }
    case Metric::kPearson: {
      double mean = 0;
      for (std::size_t i = 0; i < n; ++i) mean += x[i];
      mean /= static_cast<double>(n);
      double dot = 0, sq = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double c = x[i] - mean;
        dot += c * q.exact[i];
        sq += c * c;
      }
      return sq > 0 && q.norm > 0 ? dot / (std::sqrt(sq) * q.norm) : 0.0;
    }
  }
  return 0.0;
}

double key_to_score(double key, Metric metric) {
  if (metric != Metric::kEuclidean) return key;
  const double d = std::sqrt(-key);
  return d > 0 ? 1.0 / d : std::numeric_limits<double>::infinity();
}

struct Candidate {
  float bound;  // float key plus its worst-case error: an upper bound of the exact key
  std::size_t row;
};
// Heap order: the worst candidate (lowest bound, then latest row) on top.
bool better(const Candidate& a, const Candidate& b) {
  return a.bound > b.bound || (a.bound == b.bound && a.row < b.row);
}

struct Scored {
  double key;
  std::size_t row;
};

void sort_scored(std::vector<Scored>& s) {
  std::sort(s.begin(), s.end(), [](const Scored& a, const Scored& b) {
    return a.key > b.key || (a.key == b.key && a.row < b.row);
  });
}

}  // namespace

ExactIndex::ExactIndex(std::size_t dim, Metric metric) : dim_(dim), metric_(metric) {
  if (dim == 0) throw Error("ExactIndex: dim must be at least 1");
}

std::size_t ExactIndex::memory_bytes() const {
  return data_.capacity() * sizeof(float) + stats_.capacity() * sizeof(RowStats) +
         ids_.capacity() * sizeof(std::int64_t) +
         row_of_.size() * (sizeof(std::int64_t) + sizeof(std::size_t) + 2 * sizeof(void*)) +
         row_of_.bucket_count() * sizeof(void*);
}

void ExactIndex::add(std::span<const std::int64_t> ids, std::span<const float> vectors) {
  detail::check_add_input(ids, vectors, dim_, [this](std::int64_t id) { return row_of_.contains(id); });
  std::vector<RowStats> stats(ids.size());
  for (std::size_t r = 0; r < ids.size(); ++r) {
    const float* x = vectors.data() + r * dim_;
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < dim_; ++i) {
      sum += x[i];
      sq += static_cast<double>(x[i]) * x[i];
    }
    const double mean = sum / static_cast<double>(dim_);
    double csq = 0;
    for (std::size_t i = 0; i < dim_; ++i) csq += (x[i] - mean) * (x[i] - mean);
    RowStats& s = stats[r];
    s.norm = static_cast<float>(std::sqrt(sq));
    s.sq_norm = static_cast<float>(sq);
    s.inv_norm = sq > 0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0f;
    s.inv_centred_norm = csq > 0 ? static_cast<float>(1.0 / std::sqrt(csq)) : 0.0f;
    s.centred_ratio = csq > 0 ? static_cast<float>(std::sqrt(sq / csq)) : 0.0f;
  }
  data_.reserve(data_.size() + vectors.size());
  ids_.reserve(ids_.size() + ids.size());
  stats_.reserve(stats_.size() + stats.size());
  row_of_.reserve(row_of_.size() + ids.size());
  data_.insert(data_.end(), vectors.begin(), vectors.end());
  stats_.insert(stats_.end(), stats.begin(), stats.end());
  for (std::int64_t id : ids) {
    row_of_.emplace(id, ids_.size());
    ids_.push_back(id);
  }
}

std::size_t ExactIndex::remove(std::span<const std::int64_t> ids) {
  std::vector<std::uint8_t> drop(ids_.size(), 0);
  std::size_t removed = 0, first = ids_.size();
  for (std::int64_t id : ids) {
    auto it = row_of_.find(id);
    if (it == row_of_.end()) continue;
    drop[it->second] = 1;
    first = std::min(first, it->second);
    row_of_.erase(it);
    ++removed;
  }
  if (removed == 0) return 0;
  // One compaction pass keeps insertion order, so ties still break the same way.
  std::size_t w = first;
  for (std::size_t r = first; r < ids_.size(); ++r) {
    if (drop[r]) continue;
    std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(r * dim_), dim_,
                data_.begin() + static_cast<std::ptrdiff_t>(w * dim_));
    ids_[w] = ids_[r];
    stats_[w] = stats_[r];
    row_of_[ids_[w]] = w;
    ++w;
  }
  ids_.resize(w);
  stats_.resize(w);
  data_.resize(w * dim_);
  return removed;
}

std::vector<Neighbor> ExactIndex::search(std::span<const float> query, std::size_t k,
                                         const SearchParams& params) const {
  detail::check_query(query, dim_);
  const Metric metric = params.metric.value_or(metric_);
  const IdFilter* filter = params.filter;
  const std::size_t n = ids_.size();
  if (k == 0 || n == 0) return {};
  const PreparedQuery q = prepare_query(query, metric);

  // A short allow-list: rescore just its rows in double, no scan.
  if (filter && filter->is_allow_list() && filter->allowed_ids().size() * 16 <= n) {
    std::vector<Scored> scored;
    for (std::int64_t id : filter->allowed_ids()) {
      if (auto it = row_of_.find(id); it != row_of_.end()) {
        scored.push_back({exact_key(&data_[it->second * dim_], q), it->second});
      }
    }
    sort_scored(scored);
    std::vector<Neighbor> out;
    for (std::size_t i = 0; i < std::min(k, scored.size()); ++i) {
      out.push_back({ids_[scored[i].row], key_to_score(scored[i].key, metric)});
    }
    return out;
  }

  const std::size_t keep = std::min(n, 2 * k + 16);
  std::vector<Candidate> heap;
  heap.reserve(keep + 1);
  bool overflowed = false;  // some row was rejected: the bound check below is needed
  alignas(64) float dots[kBlockRows];
  const float qsq = static_cast<float>(q.norm * q.norm), qn = static_cast<float>(q.norm);
  const float inv_q = static_cast<float>(q.inv_norm);
  for (std::size_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const std::size_t rows = std::min(kBlockRows, n - r0);
    detail::dot_rows(&data_[r0 * dim_], rows, dim_, q.scan.data(), dots);
    for (std::size_t j = 0; j < rows; ++j) {
      const std::size_t r = r0 + j;
      const RowStats& s = stats_[r];
      float bound;
      switch (metric) {
        case Metric::kCosine:
          bound = dots[j] * s.inv_norm * inv_q + q.eps_fixed;
          break;
        case Metric::kEuclidean: {
          const float t = s.norm + qn;
          bound = 2.0f * dots[j] - s.sq_norm - qsq + q.eps_scaled * t * t;
          break;
        }
        default:  // Pearson
          bound = dots[j] * s.inv_centred_norm * inv_q + q.eps_scaled * s.centred_ratio + q.eps_fixed;
          break;
      }
      if (heap.size() == keep && bound < heap.front().bound) {
        overflowed = true;
        continue;
      }
      if (filter && !filter->allows(ids_[r])) continue;
      const Candidate c{bound, r};
      if (heap.size() < keep) {
        heap.push_back(c);
        std::push_heap(heap.begin(), heap.end(), better);
      } else if (better(c, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.back() = c;
        std::push_heap(heap.begin(), heap.end(), better);
        overflowed = true;
      } else {
        overflowed = true;
      }
    }
  }

  std::vector<Scored> scored;
  scored.reserve(heap.size());
  for (const Candidate& c : heap) scored.push_back({exact_key(&data_[c.row * dim_], q), c.row});
  sort_scored(scored);
  const std::size_t found = std::min(k, scored.size());
  // Every rejected row's exact key is <= the smallest kept bound; if that is below the k-th exact
  // key, no rejected row can belong to the top k. Otherwise (near-ties beyond the margin) rescore all.
  if (overflowed && found > 0 && !(static_cast<double>(heap.front().bound) < scored[found - 1].key)) {
    return search_rows_double(query, k, metric, filter);
  }
  std::vector<Neighbor> out(found);
  for (std::size_t i = 0; i < found; ++i) out[i] = {ids_[scored[i].row], key_to_score(scored[i].key, metric)};
  return out;
}

std::vector<Neighbor> ExactIndex::search_rows_double(std::span<const float> query, std::size_t k,
                                                     Metric metric, const IdFilter* filter) const {
  const PreparedQuery q = prepare_query(query, metric);
  std::vector<Scored> scored;
  for (std::size_t r = 0; r < ids_.size(); ++r) {
    if (filter && !filter->allows(ids_[r])) continue;
    scored.push_back({exact_key(&data_[r * dim_], q), r});
  }
  const std::size_t found = std::min(k, scored.size());
  std::partial_sort(
      scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(found), scored.end(),
      [](const Scored& a, const Scored& b) { return a.key > b.key || (a.key == b.key && a.row < b.row); });
  std::vector<Neighbor> out(found);
  for (std::size_t i = 0; i < found; ++i) out[i] = {ids_[scored[i].row], key_to_score(scored[i].key, metric)};
  return out;
}

}  // namespace mystyle::index
