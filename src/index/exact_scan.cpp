#include "exact_scan.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "dot_kernel.h"

namespace mystyle::index::detail {
namespace {

constexpr double kUnitRoundoff = 0x1p-24;  // float32
constexpr std::size_t kBlockRows = 256;    // the block's dot products stay in L1

// Rounding bound of an n-term float dot product (any order, FMA or not), with a safety factor 2.
double dot_gamma(std::size_t n) {
  return 2.0 * static_cast<double>(n + 8) * kUnitRoundoff;
}

// Slack for the float arithmetic that turns a scan dot product into a key (a few roundings of
// quantities of order 1 in key units): far above it, far below the quantisation error.
constexpr double kScanSlack = 1e-5;

// Rounds v up to the next float (so a bound stays a bound after conversion).
float up(double v) {
  return std::nextafter(static_cast<float>(v), std::numeric_limits<float>::infinity());
}

}  // namespace

PreparedQuery prepare_query(std::span<const float> q, Metric metric) {
  const std::size_t n = q.size();
  PreparedQuery p;
  p.metric = metric;
  p.exact.assign(q.begin(), q.end());
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
  double sum = 0;
  for (float v : p.scan) sum += v;
  p.sum = static_cast<float>(sum);
  const std::int32_t limit = int16_query_limit(n);
  double amax = 0;
  for (float v : p.scan) amax = std::max(amax, std::abs(static_cast<double>(v)));
  const double t = amax / limit;
  p.scan16.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    p.scan16[i] =
        t > 0
            ? static_cast<std::int16_t>(std::clamp(std::nearbyint(p.scan[i] / t), -1.0 * limit, 1.0 * limit))
            : 0;
  }
  p.scan16_scale = static_cast<float>(t);
  const double gamma = dot_gamma(n);
  switch (metric) {
    case Metric::kCosine:
      p.eps_fixed = static_cast<float>(gamma + 8 * kUnitRoundoff);
      break;
    case Metric::kEuclidean:
      p.eps_scaled = static_cast<float>(2 * gamma + 8 * kUnitRoundoff);  // times (|x| + |q|)^2
      break;
    case Metric::kPearson: {
      // x.q_c equals x_c.q_c only up to mean(x) * sum(q_c) and the float rounding of q_c.
      p.eps_fixed = static_cast<float>(8 * kUnitRoundoff);
      const double unbalance =
          p.norm > 0 ? std::abs(sum_of_centred) / (std::sqrt(static_cast<double>(n)) * p.norm) : 0.0;
      p.eps_scaled = static_cast<float>(gamma + 2 * kUnitRoundoff + unbalance);
      // The scan's codes are of x - mean: it drops mean * sum(q_c), and q_c is rounded to float.
      p.pearson_extra = static_cast<float>(unbalance * (1 + 1e-6) + 1e-6);
      break;
    }
  }
  return p;
}

// One row's int8 codes and scan coefficients. x = m + s * code + e exactly (m the float mean, e the
// residual computed in double), so q.x = m * sum(q) + s * (q . code) + q.e with |q.e| <= |q| |e|;
// the scan computes q . code exactly in integers from a rounded int16 copy of q.
void quantise_row(const float* x, std::size_t dim, const ScanRowStats& st, std::int8_t* code, CosineScan& cs,
                  PearsonScan& ps, EuclideanScan& es) {
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    sum += x[i];
    sq += static_cast<double>(x[i]) * x[i];
  }
  const float m = static_cast<float>(sum / static_cast<double>(dim));
  double amax = 0;
  for (std::size_t i = 0; i < dim; ++i) amax = std::max(amax, std::abs(static_cast<double>(x[i]) - m));
  const float scale = amax > 0 ? static_cast<float>(amax / 127.0) : 0.0f;
  double esq = 0, code_sq = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    const double c = static_cast<double>(x[i]) - m;
    const double v = scale > 0 ? std::clamp(std::nearbyint(c / scale), -127.0, 127.0) : 0.0;
    code[i] = static_cast<std::int8_t>(v);
    const double e = c - static_cast<double>(scale) * v;
    esq += e * e;
    code_sq += v * v;
  }
  // |q.x - approximation| <= |q| * q_err, with margin for the double arithmetic above.
  // The scan's int16 query q' = q / t (t = max|q_i| / L) is rounded: |q - t q'| <= t/2 per component,
  // so |q.code - t (q'.code)| <= |q| * sqrt(dim) / (2L) * |code|.
  const double query_rounding = std::sqrt(static_cast<double>(dim)) / (2.0 * int16_query_limit(dim));
  const double q_err = (std::sqrt(esq) + scale * query_rounding * std::sqrt(code_sq)) * (1 + 1e-6);
  const double norm = std::sqrt(sq);
  // The true centred norm (mean in double), as the exact Pearson key uses.
  const double mean = sum / static_cast<double>(dim);
  double tsq = 0;
  for (std::size_t i = 0; i < dim; ++i) tsq += (x[i] - mean) * (x[i] - mean);
  const double cnorm = std::sqrt(tsq);
  cs = {};
  if (norm > 0)
    cs = {static_cast<float>(scale / norm), static_cast<float>(m / norm), up(q_err / norm + kScanSlack)};
  ps = {};
  if (cnorm > 0) {
    ps = {static_cast<float>(scale / cnorm), up(q_err / cnorm + kScanSlack), up(norm / cnorm)};
  }
  es = {2.0f * scale, 2.0f * m, st.sq_norm, up(2 * q_err), st.norm};
}

std::vector<ScanCandidate> scan_int8(const ScanRows& rows, const PreparedQuery& q, std::size_t k,
                                     const IdFilter* filter) {
  const std::size_t n = rows.ids.size(), dim = rows.dim;
  // Each row gets [key - err, key + err] around its exact key; a row whose
  // upper end is below the k-th best lower end seen so far (`threshold`) cannot be in the top k.
  const float qn = static_cast<float>(q.norm), qsq = static_cast<float>(q.norm * q.norm);
  const float inv_q = static_cast<float>(q.inv_norm);
  const float err_on = q.inv_norm > 0 ? 1.0f : 0.0f;  // a zero query: every cosine/Pearson key is 0
  std::vector<float> lowers;                          // min-heap of the k best lower ends
  lowers.reserve(k + 1);
  float threshold = -std::numeric_limits<float>::infinity();
  std::vector<ScanCandidate> candidates;
  std::size_t prune_at = std::max<std::size_t>(256, 8 * k);
  auto prune = [&] {
    std::erase_if(candidates, [&](const ScanCandidate& c) { return c.upper < threshold; });
  };
  alignas(64) float dots[kBlockRows], approx[kBlockRows], err[kBlockRows], upper[kBlockRows];
  std::uint32_t pass[kBlockRows];
  for (std::size_t r0 = 0; r0 < n; r0 += kBlockRows) {
    const std::size_t count = std::min(kBlockRows, n - r0);
    dot_rows_i8(&rows.codes[r0 * dim], count, dim, q.scan16.data(), q.scan16_scale, dots);
    switch (q.metric) {
      case Metric::kCosine: {
        const CosineScan* c = &rows.cosine[r0];
        for (std::size_t j = 0; j < count; ++j) {
          approx[j] = (c[j].a * dots[j] + c[j].b * q.sum) * inv_q;
          err[j] = c[j].err * err_on;
        }
        break;
      }
      case Metric::kPearson: {
        const PearsonScan* c = &rows.pearson[r0];
        for (std::size_t j = 0; j < count; ++j) {
          approx[j] = c[j].a * dots[j] * inv_q;
          err[j] = (c[j].err + c[j].ratio * q.pearson_extra) * err_on;
        }
        break;
      }
      case Metric::kEuclidean: {
        const EuclideanScan* c = &rows.euclidean[r0];
        for (std::size_t j = 0; j < count; ++j) {
          approx[j] = c[j].a * dots[j] + c[j].b * q.sum - c[j].sq_norm - qsq;
          const float t = c[j].norm + qn;
          err[j] = c[j].err * qn + q.eps_scaled * 8.0f * t * t;
        }
        break;
      }
    }
    for (std::size_t j = 0; j < count; ++j) upper[j] = approx[j] + err[j];
    // Most rows fail the threshold: find the few that pass with a vector compare first.
    const std::size_t passing = select_at_least(upper, count, threshold, pass);
    for (std::size_t p = 0; p < passing; ++p) {
      const std::size_t j = pass[p];
      if (upper[j] < threshold) continue;  // the threshold rose within this block
      const std::size_t r = r0 + j;
      if (filter && !filter->allows(rows.ids[r])) continue;
      const float lower = approx[j] - err[j];
      if (lowers.size() < k) {
        lowers.push_back(lower);
        std::push_heap(lowers.begin(), lowers.end(), std::greater<>());
        if (lowers.size() == k) threshold = lowers.front();
      } else if (lower > lowers.front()) {
        std::pop_heap(lowers.begin(), lowers.end(), std::greater<>());
        lowers.back() = lower;
        std::push_heap(lowers.begin(), lowers.end(), std::greater<>());
        threshold = lowers.front();
      }
      candidates.push_back({upper[j], r});
      if (candidates.size() >= prune_at) {
        prune();
        if (candidates.size() * 2 >= prune_at) prune_at *= 2;
      }
    }
  }
  prune();
  prune();
  return candidates;
}

}  // namespace mystyle::index::detail
