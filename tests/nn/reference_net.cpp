#include "reference_net.h"

#include <algorithm>
#include <cmath>

#include "mystyle/nn/batch_norm.h"

namespace mystyle::nn::testing {
namespace {

struct T {
  int c, h, w;
  std::vector<double> v;  // [batch, c, h, w]
  double& at(int n, int ch, int y, int x) {
    return v[((static_cast<std::size_t>(n) * c + ch) * h + y) * w + x];
  }
};

double activate(Activation a, double x) {
  if (a == Activation::kRelu) return std::max(x, 0.0);
  if (a == Activation::kSigmoid) return 1.0 / (1.0 + std::exp(-x));
  return x;
}

}  // namespace

std::vector<double> reference_forward(const ModelSpec& spec, const std::vector<std::vector<double>>& params,
                                      const std::vector<double>& input, int batch) {
  T x{spec.in_channels, spec.image_side_px, spec.image_side_px, input};
  std::vector<T> pushed;  // activations of unmatched pushes
  std::size_t p = 0;
  for (const LayerSpec& l : spec.layers) {
    switch (l.kind) {
      case LayerKind::kConv: {
        const auto& wt = params[p++];
        const auto& b = params[p++];
        T y{l.units, x.h, x.w, std::vector<double>(static_cast<std::size_t>(batch) * l.units * x.h * x.w)};
        for (int n = 0; n < batch; ++n)
          for (int o = 0; o < l.units; ++o)
            for (int r = 0; r < x.h; ++r)
              for (int q = 0; q < x.w; ++q) {
                double s = b[o];
                for (int i = 0; i < x.c; ++i)
                  for (int ky = 0; ky < 3; ++ky)
                    for (int kx = 0; kx < 3; ++kx) {
                      const int yy = r + ky - 1, xx = q + kx - 1;
                      if (yy < 0 || yy >= x.h || xx < 0 || xx >= x.w) continue;
                      s += wt[((static_cast<std::size_t>(o) * x.c + i) * 3 + ky) * 3 + kx] *
                           x.at(n, i, yy, xx);
                    }
                y.at(n, o, r, q) = activate(l.activation, s);
              }
        x = std::move(y);
        break;
      }
      case LayerKind::kMaxPool: {
        T y{x.c, x.h / 2, x.w / 2,
            std::vector<double>(static_cast<std::size_t>(batch) * x.c * x.h / 2 * x.w / 2)};
        for (int n = 0; n < batch; ++n)
          for (int c = 0; c < x.c; ++c)
            for (int r = 0; r < y.h; ++r)
              for (int q = 0; q < y.w; ++q)
                y.at(n, c, r, q) = std::max({x.at(n, c, 2 * r, 2 * q), x.at(n, c, 2 * r, 2 * q + 1),
                                             x.at(n, c, 2 * r + 1, 2 * q), x.at(n, c, 2 * r + 1, 2 * q + 1)});
        x = std::move(y);
        break;
      }
      case LayerKind::kUpsample: {
        T y{x.c, x.h * 2, x.w * 2,
            std::vector<double>(static_cast<std::size_t>(batch) * x.c * x.h * 2 * x.w * 2)};
        for (int n = 0; n < batch; ++n)
          for (int c = 0; c < x.c; ++c)
            for (int r = 0; r < y.h; ++r)
              for (int q = 0; q < y.w; ++q) y.at(n, c, r, q) = x.at(n, c, r / 2, q / 2);
        x = std::move(y);
        break;
      }
      case LayerKind::kBatchNorm: {
        const auto& gamma = params[p];
        const auto& beta = params[p + 1];
        p += 4;  // moving statistics are not used in training mode
        const double count = static_cast<double>(batch) * x.h * x.w;
        for (int c = 0; c < x.c; ++c) {
          double mean = 0.0, var = 0.0;
          for (int n = 0; n < batch; ++n)
            for (int r = 0; r < x.h; ++r)
              for (int q = 0; q < x.w; ++q) mean += x.at(n, c, r, q);
          mean /= count;
          for (int n = 0; n < batch; ++n)
            for (int r = 0; r < x.h; ++r)
              for (int q = 0; q < x.w; ++q) var += (x.at(n, c, r, q) - mean) * (x.at(n, c, r, q) - mean);
          var /= count;
          const double inv = 1.0 / std::sqrt(var + BatchNorm::kEpsilon);
          for (int n = 0; n < batch; ++n)
            for (int r = 0; r < x.h; ++r)
              for (int q = 0; q < x.w; ++q)
                x.at(n, c, r, q) = gamma[c] * (x.at(n, c, r, q) - mean) * inv + beta[c];
        }
        break;
      }
      case LayerKind::kLinear: {
        const auto& wt = params[p++];
        const auto& b = params[p++];
        const std::size_t in = static_cast<std::size_t>(x.c) * x.h * x.w;
        T y{l.units, 1, 1, std::vector<double>(static_cast<std::size_t>(batch) * l.units)};
        for (int n = 0; n < batch; ++n)
          for (int u = 0; u < l.units; ++u) {
            double s = b[u];
            for (std::size_t k = 0; k < in; ++k) s += wt[u * in + k] * x.v[n * in + k];
            y.v[static_cast<std::size_t>(n) * l.units + u] = activate(l.activation, s);
          }
        x = std::move(y);
        break;
      }
      case LayerKind::kActivation:
        for (auto& v : x.v) v = activate(l.activation, v);
        break;
      case LayerKind::kPush:
        pushed.push_back(x);
        break;
      case LayerKind::kAdd:
        for (std::size_t i = 0; i < x.v.size(); ++i) x.v[i] += pushed.back().v[i];
        pushed.pop_back();
        break;
    }
  }
  return x.v;
}

double reference_loss(LossKind kind, const std::vector<double>& y, const std::vector<float>& t) {
  double sum = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (kind == LossKind::kBinaryCrossEntropy) {
      sum -= t[i] * std::log(y[i]) + (1.0 - t[i]) * std::log(1.0 - y[i]);
    } else {
      sum += (y[i] - t[i]) * (y[i] - t[i]);
    }
  }
  return sum / static_cast<double>(y.size());
}

}  // namespace mystyle::nn::testing
