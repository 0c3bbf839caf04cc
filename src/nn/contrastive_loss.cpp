#include "mystyle/nn/contrastive_loss.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mystyle/core/error.h"

namespace mystyle::nn {

double nt_xent_loss(std::span<const float> rows, int row_count, int dim, double temperature,
                    std::span<float> grad) {
  if (row_count < 2 || row_count % 2 != 0 || dim < 1 ||
      rows.size() != static_cast<std::size_t>(row_count) * static_cast<std::size_t>(dim) ||
      grad.size() != rows.size() || !(temperature > 0)) {
    throw Error(fmt::format("nt_xent_loss: {} values for {} rows of {} (grad {}), temperature {}",
                            rows.size(), row_count, dim, grad.size(), temperature));
  }
  const std::size_t m = static_cast<std::size_t>(row_count), d = static_cast<std::size_t>(dim), half = m / 2;
  std::vector<double> z(m * d), norm(m);
  for (std::size_t i = 0; i < m; ++i) {
    double sq = 0;
    for (std::size_t j = 0; j < d; ++j) sq += static_cast<double>(rows[i * d + j]) * rows[i * d + j];
    norm[i] = std::max(std::sqrt(sq), 1e-12);
    for (std::size_t j = 0; j < d; ++j) z[i * d + j] = rows[i * d + j] / norm[i];
  }
  // s_ik, then per row the softmax over k != i: G_ik = dL/ds_ik = (P_ik - [k = partner]) / m.
  std::vector<double> g(m * m, 0.0);
  double loss = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t partner = i < half ? i + half : i - half;
    double top = -1e300;
    for (std::size_t k = 0; k < m; ++k) {
      if (k == i) continue;
      double s = 0;
      for (std::size_t j = 0; j < d; ++j) s += z[i * d + j] * z[k * d + j];
      g[i * m + k] = s / temperature;
      top = std::max(top, g[i * m + k]);
    }
    double total = 0;
    for (std::size_t k = 0; k < m; ++k) {
      if (k != i) total += std::exp(g[i * m + k] - top);
    }
    loss += -(g[i * m + partner] - top) + std::log(total);
    for (std::size_t k = 0; k < m; ++k) {
      if (k == i) continue;
      g[i * m + k] =
          (std::exp(g[i * m + k] - top) / total - (k == partner ? 1.0 : 0.0)) / static_cast<double>(m);
    }
  }
  // dL/dz_i = (1/t) sum_k (G_ik + G_ki) z_k; then through z = x / |x|: (dz - z (z . dz)) / |x|.
  std::vector<double> dz(d);
  for (std::size_t i = 0; i < m; ++i) {
    std::fill(dz.begin(), dz.end(), 0.0);
    for (std::size_t k = 0; k < m; ++k) {
      if (k == i) continue;
      const double w = (g[i * m + k] + g[k * m + i]) / temperature;
      for (std::size_t j = 0; j < d; ++j) dz[j] += w * z[k * d + j];
    }
    double along = 0;
    for (std::size_t j = 0; j < d; ++j) along += z[i * d + j] * dz[j];
    for (std::size_t j = 0; j < d; ++j) {
      grad[i * d + j] = static_cast<float>((dz[j] - z[i * d + j] * along) / norm[i]);
    }
  }
  return loss / static_cast<double>(m);
}

}  // namespace mystyle::nn
