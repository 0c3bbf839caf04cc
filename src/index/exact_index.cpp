#include "mystyle/index/exact_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "dot_kernel.h"
#include "exact_scan.h"
#include "mystyle/core/error.h"
#include "vector_checks.h"

namespace mystyle::index {
namespace {

using detail::PreparedQuery;

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
  return data_.capacity() * sizeof(float) + stats_.capacity() * sizeof(RowStats) + codes_.capacity() +
         cosine_.capacity() * sizeof(CosineScan) + pearson_.capacity() * sizeof(PearsonScan) +
         euclidean_.capacity() * sizeof(EuclideanScan) + ids_.capacity() * sizeof(std::int64_t) +
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
  std::vector<std::int8_t> codes(vectors.size());
  std::vector<CosineScan> cosine(ids.size());
  std::vector<PearsonScan> pearson(ids.size());
  std::vector<EuclideanScan> euclidean(ids.size());
  for (std::size_t r = 0; r < ids.size(); ++r) {
    detail::quantise_row(vectors.data() + r * dim_, dim_, stats[r], &codes[r * dim_], cosine[r], pearson[r],
                         euclidean[r]);
  }
  data_.reserve(data_.size() + vectors.size());
  ids_.reserve(ids_.size() + ids.size());
  stats_.reserve(stats_.size() + stats.size());
  row_of_.reserve(row_of_.size() + ids.size());
  codes_.reserve(codes_.size() + codes.size());
  cosine_.reserve(cosine_.size() + cosine.size());
  pearson_.reserve(pearson_.size() + pearson.size());
  euclidean_.reserve(euclidean_.size() + euclidean.size());
  data_.insert(data_.end(), vectors.begin(), vectors.end());
  stats_.insert(stats_.end(), stats.begin(), stats.end());
  codes_.insert(codes_.end(), codes.begin(), codes.end());
  cosine_.insert(cosine_.end(), cosine.begin(), cosine.end());
  pearson_.insert(pearson_.end(), pearson.begin(), pearson.end());
  euclidean_.insert(euclidean_.end(), euclidean.begin(), euclidean.end());
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
    std::copy_n(codes_.begin() + static_cast<std::ptrdiff_t>(r * dim_), dim_,
                codes_.begin() + static_cast<std::ptrdiff_t>(w * dim_));
    ids_[w] = ids_[r];
    stats_[w] = stats_[r];
    cosine_[w] = cosine_[r];
    pearson_[w] = pearson_[r];
    euclidean_[w] = euclidean_[r];
    row_of_[ids_[w]] = w;
    ++w;
  }
  ids_.resize(w);
  stats_.resize(w);
  cosine_.resize(w);
  pearson_.resize(w);
  euclidean_.resize(w);
  data_.resize(w * dim_);
  codes_.resize(w * dim_);
  return removed;
}

std::vector<Neighbor> ExactIndex::search(std::span<const float> query, std::size_t k,
                                         const SearchParams& params) const {
  detail::check_query(query, dim_);
  const Metric metric = params.metric.value_or(metric_);
  const IdFilter* filter = params.filter;
  const std::size_t n = ids_.size();
  if (k == 0 || n == 0) return {};
  const PreparedQuery q = detail::prepare_query(query, metric);

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

  // Stage 1: the int8 scan keeps every row whose key interval reaches the k-th best lower end.
  const auto candidates =
      detail::scan_int8({dim_, codes_, cosine_, pearson_, euclidean_, ids_}, q, k, filter);

  // Stage 2: float keys of the candidates, with the float rounding bound, narrow them the same way.
  const float qn = static_cast<float>(q.norm), qsq = static_cast<float>(q.norm * q.norm);
  const float inv_q = static_cast<float>(q.inv_norm);
  struct Narrowed {
    float lower, upper;
    std::size_t row;
  };
  std::vector<Narrowed> narrowed;
  narrowed.reserve(candidates.size());
  for (const detail::ScanCandidate& c : candidates) {
    const RowStats& st = stats_[c.row];
    float dot;
    detail::dot_rows(&data_[c.row * dim_], 1, dim_, q.scan.data(), &dot);
    float key, eps;
    switch (metric) {
      case Metric::kCosine:
        key = dot * st.inv_norm * inv_q, eps = q.eps_fixed;
        break;
      case Metric::kEuclidean: {
        const float t = st.norm + qn;
        key = 2.0f * dot - st.sq_norm - qsq, eps = q.eps_scaled * t * t;
        break;
      }
      default:  // Pearson
        key = dot * st.inv_centred_norm * inv_q, eps = q.eps_scaled * st.centred_ratio + q.eps_fixed;
        break;
    }
    narrowed.push_back({key - eps, key + eps, c.row});
  }
  float floor = -std::numeric_limits<float>::infinity();
  if (narrowed.size() > k) {
    std::vector<float> lo(narrowed.size());
    for (std::size_t i = 0; i < narrowed.size(); ++i) lo[i] = narrowed[i].lower;
    std::nth_element(lo.begin(), lo.begin() + static_cast<std::ptrdiff_t>(k - 1), lo.end(), std::greater<>());
    floor = lo[k - 1];
  }

  // Stage 3: the survivors in double; every dropped row is below the k-th of these.
  std::vector<Scored> scored;
  for (const Narrowed& c : narrowed) {
    if (c.upper >= floor) scored.push_back({exact_key(&data_[c.row * dim_], q), c.row});
  }
  sort_scored(scored);
  const std::size_t found = std::min(k, scored.size());
  std::vector<Neighbor> out(found);
  for (std::size_t i = 0; i < found; ++i) out[i] = {ids_[scored[i].row], key_to_score(scored[i].key, metric)};
  return out;
}

}  // namespace mystyle::index

namespace mystyle::index {

std::vector<std::int64_t> ExactIndex::changed(std::span<const std::int64_t> ids, std::span<const float> vectors) const {
  detail::check_rows(ids, vectors, dim_);
  std::vector<std::int64_t> out;
  for (std::size_t r = 0; r < ids.size(); ++r) {
    const auto it = row_of_.find(ids[r]);
    if (it == row_of_.end()) continue;
    if (!std::equal(vectors.begin() + static_cast<std::ptrdiff_t>(r * dim_),
                    vectors.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim_),
                    data_.begin() + static_cast<std::ptrdiff_t>(it->second * dim_)))
      out.push_back(ids[r]);
  }
  return out;
}

}  // namespace mystyle::index
