#include "dot_kernel.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
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

// The int8 scan: a quarter of dot_rows's memory traffic per row, exact integer arithmetic (int8
// codes times int16 query, summed in int32). GCC scalarises vector-extension integer widening, so
// this kernel uses intrinsics: AVX-512BW, AVX2 and a plain loop, chosen once at run time. Four rows
// per pass share each query load.
namespace {

inline std::int32_t tail_i8(const std::int8_t* x, const std::int16_t* q, std::size_t begin, std::size_t dim) {
  std::int32_t s = 0;
  for (std::size_t i = begin; i < dim; ++i) s += static_cast<std::int32_t>(x[i]) * q[i];
  return s;
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void dot_rows_i8_avx512(const std::int8_t* codes,
                                                                             std::size_t n_rows,
                                                                             std::size_t dim,
                                                                             const std::int16_t* query,
                                                                             float scale, float* out) {
  const std::size_t dim32 = dim - dim % 32;
  // A lambda would not inherit the function's target (GCC 12 refuses to inline the intrinsics into
  // it without -march=native): a macro keeps the code in this AVX-512 function.
#define codes32(p) _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))
  std::size_t r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const std::int8_t* x0 = codes + r * dim;
    const std::int8_t* x1 = x0 + dim;
    const std::int8_t* x2 = x1 + dim;
    const std::int8_t* x3 = x2 + dim;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = 0; i < dim32; i += 32) {
      const __m512i q = _mm512_loadu_si512(query + i);
      a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(codes32(x0 + i), q));
      a1 = _mm512_add_epi32(a1, _mm512_madd_epi16(codes32(x1 + i), q));
      a2 = _mm512_add_epi32(a2, _mm512_madd_epi16(codes32(x2 + i), q));
      a3 = _mm512_add_epi32(a3, _mm512_madd_epi16(codes32(x3 + i), q));
    }
    out[r] = scale * static_cast<float>(_mm512_reduce_add_epi32(a0) + tail_i8(x0, query, dim32, dim));
    out[r + 1] = scale * static_cast<float>(_mm512_reduce_add_epi32(a1) + tail_i8(x1, query, dim32, dim));
    out[r + 2] = scale * static_cast<float>(_mm512_reduce_add_epi32(a2) + tail_i8(x2, query, dim32, dim));
    out[r + 3] = scale * static_cast<float>(_mm512_reduce_add_epi32(a3) + tail_i8(x3, query, dim32, dim));
  }
  for (; r < n_rows; ++r) {
    const std::int8_t* x = codes + r * dim;
    __m512i a = _mm512_setzero_si512();
    for (std::size_t i = 0; i < dim32; i += 32) {
      a = _mm512_add_epi32(a, _mm512_madd_epi16(codes32(x + i), _mm512_loadu_si512(query + i)));
    }
    out[r] = scale * static_cast<float>(_mm512_reduce_add_epi32(a) + tail_i8(x, query, dim32, dim));
  }
}

#undef codes32

__attribute__((target("avx2"))) inline std::int32_t hsum256(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) void dot_rows_i8_avx2(const std::int8_t* codes, std::size_t n_rows,
                                                      std::size_t dim, const std::int16_t* query, float scale,
                                                      float* out) {
  const std::size_t dim16 = dim - dim % 16;
#define codes16(p) _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))  // as codes32
  std::size_t r = 0;
  for (; r + 4 <= n_rows; r += 4) {
    const std::int8_t* x0 = codes + r * dim;
    const std::int8_t* x1 = x0 + dim;
    const std::int8_t* x2 = x1 + dim;
    const std::int8_t* x3 = x2 + dim;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = 0; i < dim16; i += 16) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(query + i));
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(codes16(x0 + i), q));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(codes16(x1 + i), q));
      a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(codes16(x2 + i), q));
      a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(codes16(x3 + i), q));
    }
    out[r] = scale * static_cast<float>(hsum256(a0) + tail_i8(x0, query, dim16, dim));
    out[r + 1] = scale * static_cast<float>(hsum256(a1) + tail_i8(x1, query, dim16, dim));
    out[r + 2] = scale * static_cast<float>(hsum256(a2) + tail_i8(x2, query, dim16, dim));
    out[r + 3] = scale * static_cast<float>(hsum256(a3) + tail_i8(x3, query, dim16, dim));
  }
  for (; r < n_rows; ++r) {
    const std::int8_t* x = codes + r * dim;
    __m256i a = _mm256_setzero_si256();
    for (std::size_t i = 0; i < dim16; i += 16) {
      a = _mm256_add_epi32(
          a,
          _mm256_madd_epi16(codes16(x + i), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(query + i))));
    }
    out[r] = scale * static_cast<float>(hsum256(a) + tail_i8(x, query, dim16, dim));
  }
}
#undef codes16

void dot_rows_i8_plain(const std::int8_t* codes, std::size_t n_rows, std::size_t dim,
                       const std::int16_t* query, float scale, float* out) {
  for (std::size_t r = 0; r < n_rows; ++r)
    out[r] = scale * static_cast<float>(tail_i8(codes + r * dim, query, 0, dim));
}

using DotI8 = void (*)(const std::int8_t*, std::size_t, std::size_t, const std::int16_t*, float, float*);
DotI8 pick_dot_i8() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl")) {
    return dot_rows_i8_avx512;
  }
  if (__builtin_cpu_supports("avx2")) return dot_rows_i8_avx2;
  return dot_rows_i8_plain;
}

}  // namespace

std::int32_t int16_query_limit(std::size_t dim) {
  const std::int64_t by_sum =
      (std::int64_t{1} << 31) / (127 * static_cast<std::int64_t>(std::max<std::size_t>(dim, 1)));
  return static_cast<std::int32_t>(std::clamp<std::int64_t>(by_sum, 1, 32767));
}

void dot_rows_i8(const std::int8_t* codes, std::size_t n_rows, std::size_t dim, const std::int16_t* query,
                 float scale, float* out) {
  static const DotI8 impl = pick_dot_i8();
  impl(codes, n_rows, dim, query, scale, out);
}

namespace {

__attribute__((target("avx512f"))) std::size_t select_avx512(const float* v, std::size_t n, float threshold,
                                                             std::uint32_t* out) {
  const __m512 t = _mm512_set1_ps(threshold);
  const __m512i step = _mm512_set1_epi32(16);
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  std::size_t count = 0, j = 0;
  for (; j + 16 <= n; j += 16, idx = _mm512_add_epi32(idx, step)) {
    const __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(v + j), t, _CMP_GE_OQ);
    if (m) {
      _mm512_mask_compressstoreu_epi32(out + count, m, idx);
      count += static_cast<std::size_t>(__builtin_popcount(m));
    }
  }
  for (; j < n; ++j) {
    if (v[j] >= threshold) out[count++] = static_cast<std::uint32_t>(j);
  }
  return count;
}

std::size_t select_plain(const float* v, std::size_t n, float threshold, std::uint32_t* out) {
  std::size_t count = 0;
  for (std::size_t j = 0; j < n; ++j) {
    if (v[j] >= threshold) out[count++] = static_cast<std::uint32_t>(j);
  }
  return count;
}

}  // namespace

std::size_t select_at_least(const float* values, std::size_t n, float threshold, std::uint32_t* out) {
  static const bool avx512 = (__builtin_cpu_init(), __builtin_cpu_supports("avx512f"));
  return avx512 ? select_avx512(values, n, threshold, out) : select_plain(values, n, threshold, out);
}

}  // namespace mystyle::index::detail
