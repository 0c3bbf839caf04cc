#pragma once
/// Seeded synthetic vectors for the index tests and benchmarks, shaped like real embeddings: low
/// intrinsic dimension (a 16-d latent Gaussian mixture mapped linearly to `dim`), plus a little
/// isotropic noise. Plain iid Gaussian vectors (clusters = 0) are the worst case for any ANN index
/// (all neighbours nearly equidistant) and are measured only in the benchmark.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace mystyle::index::testing {

constexpr std::size_t kLatentDim = 16;

/// Row-major [n, dim]. The model (cluster centres and the latent-to-dim map) depends only on
/// (dim, clusters), the samples on `seed`: calls with the same dim and clusters but different seeds
/// draw data and queries from one distribution. clusters = 0: iid N(0, 1) components.
inline std::vector<float> clustered_vectors(std::size_t n, std::size_t dim, std::size_t clusters,
                                            std::uint64_t seed) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 1);
  std::vector<float> out(n * dim);
  if (clusters == 0) {
    for (float& v : out) v = normal(rng);
    return out;
  }
  std::mt19937_64 model_rng(dim * 1000003ull + clusters);
  std::vector<float> centres(clusters * kLatentDim), map(kLatentDim * dim);
  for (float& c : centres) c = normal(model_rng);
  for (float& w : map) w = normal(model_rng) / 4.0f;  // 1/sqrt(kLatentDim)
  std::uniform_int_distribution<std::size_t> pick(0, clusters - 1);
  float z[kLatentDim];
  for (std::size_t r = 0; r < n; ++r) {
    const float* c = &centres[pick(rng) * kLatentDim];
    for (std::size_t j = 0; j < kLatentDim; ++j) z[j] = c[j] + 0.5f * normal(rng);
    for (std::size_t i = 0; i < dim; ++i) {
      float v = 0.05f * normal(rng);
      for (std::size_t j = 0; j < kLatentDim; ++j) v += z[j] * map[j * dim + i];
      out[r * dim + i] = v;
    }
  }
  return out;
}

/// Ids first, first + 1, ...
inline std::vector<std::int64_t> sequential_ids(std::size_t n, std::int64_t first = 0) {
  std::vector<std::int64_t> ids(n);
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

}  // namespace mystyle::index::testing
