#include "dot_kernel.h"

#include <cstring>

namespace mystyle::index::detail {
namespace {

// GCC vector extensions: 16 floats = one AVX-512 register, two AVX2 or four SSE registers,
// whichever clone runs. Loads go through memcpy (unaligned, no aliasing questions).
typedef float V16 __attribute__((vector_size(64)));

inline V16 load16(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline float hsum(V16 v) {
  float s = 0;
  for (int i = 0; i < 16; ++i) s += v[i];
  return s;
}

inline float tail_dot(const float* x, const float* q, std::size_t begin, std::size_t dim) {
  float s = 0;
  for (std::size_t i = begin; i < dim; ++i) s += x[i] * q[i];
  return s;
}

}  // namespace

// Four rows per pass share each query load; the row data streams once through the cache.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void dot_rows(
    const float* rows, std::size_t n_rows, std::size_t dim, const float* query, float* out) {
  const std::size_t dim16 = dim - dim % 16;
  std::size_t r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const float* x0 = rows + r * dim;
    const float* x1 = x0 + dim;
    const float* x2 = x1 + dim;
    const float* x3 = x2 + dim;
    V16 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (std::size_t i = 0; i < dim16; i += 16) {
      // Prefetch the rows two passes ahead: four interleaved streams outrun the hardware prefetcher.
      __builtin_prefetch(x0 + 8 * dim + i);
      __builtin_prefetch(x1 + 8 * dim + i);
      __builtin_prefetch(x2 + 8 * dim + i);
      __builtin_prefetch(x3 + 8 * dim + i);
      const V16 q = load16(query + i);
      a0 += load16(x0 + i) * q;
      a1 += load16(x1 + i) * q;
      a2 += load16(x2 + i) * q;
      a3 += load16(x3 + i) * q;
    }
    out[r] = hsum(a0) + tail_dot(x0, query, dim16, dim);
    out[r + 1] = hsum(a1) + tail_dot(x1, query, dim16, dim);
    out[r + 2] = hsum(a2) + tail_dot(x2, query, dim16, dim);
    out[r + 3] = hsum(a3) + tail_dot(x3, query, dim16, dim);
  }
  for (; r < n_rows; ++r) {
    const float* x = rows + r * dim;
    V16 a = {};
    for (std::size_t i = 0; i < dim16; i += 16) a += load16(x + i) * load16(query + i);
    out[r] = hsum(a) + tail_dot(x, query, dim16, dim);
  }
}

}  // namespace mystyle::index::detail
