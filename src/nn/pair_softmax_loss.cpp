#include "mystyle/nn/pair_softmax_loss.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::nn {

double pair_softmax_loss(std::span<const float> rows, int anchors, int candidates, int dim, double scale,
                         std::span<float> grad, std::int64_t* correct) {
  if (anchors < 1 || candidates < 2 || dim < 1 || !(scale > 0)) {
    throw Error("pair softmax loss: needs anchors >= 1, candidates >= 2, dim >= 1 and scale > 0 (got " +
                    std::to_string(anchors) + ", " + std::to_string(candidates) + ", " + std::to_string(dim) +
                    ", " + std::to_string(scale) + ")",
                ErrorKind::kInvalidInput);
  }
  const std::size_t d = static_cast<std::size_t>(dim);
  const std::size_t pairs = static_cast<std::size_t>(anchors) * static_cast<std::size_t>(candidates);
  if (rows.size() != 2 * pairs * d || grad.size() != rows.size()) {
    throw Error("pair softmax loss: expected " + std::to_string(2 * pairs) + " rows of " + std::to_string(dim) +
                    " numbers and a gradient of the same size, got " + std::to_string(rows.size()) + " and " +
                    std::to_string(grad.size()),
                ErrorKind::kInvalidInput);
  }
  constexpr double kTinyNorm = 1e-12;
  std::vector<double> norms(2 * pairs), cosine(pairs);
  // Cosines of every pair.
  for (std::size_t p = 0; p < pairs; ++p) {
    const float* a = rows.data() + 2 * p * d;
    const float* b = a + d;
    double aa = 0, bb = 0, ab = 0;
    for (std::size_t k = 0; k < d; ++k) {
      aa += static_cast<double>(a[k]) * a[k];
      bb += static_cast<double>(b[k]) * b[k];
      ab += static_cast<double>(a[k]) * b[k];
    }
    norms[2 * p] = std::max(std::sqrt(aa), kTinyNorm);
    norms[2 * p + 1] = std::max(std::sqrt(bb), kTinyNorm);
    cosine[p] = ab / (norms[2 * p] * norms[2 * p + 1]);
  }
  double total = 0;
  std::int64_t right = 0;
  const auto c = static_cast<std::size_t>(candidates);
  std::vector<double> prob(c);
  for (std::size_t i = 0; i < static_cast<std::size_t>(anchors); ++i) {
    const double* cos_i = cosine.data() + i * c;
    const double top = scale * *std::max_element(cos_i, cos_i + c);
    double sum = 0;
    for (std::size_t j = 0; j < c; ++j) sum += prob[j] = std::exp(scale * cos_i[j] - top);
    total += std::log(sum) + top - scale * cos_i[0];
    bool best = true;
    for (std::size_t j = 1; j < c; ++j) best = best && cos_i[j] < cos_i[0];
    right += best;
    for (std::size_t j = 0; j < c; ++j) {
      // dL/dcos_ij = scale (p_j - [j == 0]) / anchors; back through cos = (a . b) / (|a| |b|).
      const double g = scale * (prob[j] / sum - (j == 0 ? 1.0 : 0.0)) / anchors;
      const std::size_t p = i * c + j;
      const float* a = rows.data() + 2 * p * d;
      const float* b = a + d;
      float* ga = grad.data() + 2 * p * d;
      float* gb = ga + d;
      const double na = norms[2 * p], nb = norms[2 * p + 1], cs = cos_i[j];
      for (std::size_t k = 0; k < d; ++k) {
        const double ua = a[k] / na, ub = b[k] / nb;
        ga[k] = static_cast<float>(g * (ub - cs * ua) / na);
        gb[k] = static_cast<float>(g * (ua - cs * ub) / nb);
      }
    }
  }
  if (correct != nullptr) *correct = right;
  return total / anchors;
}

}  // namespace mystyle::nn
