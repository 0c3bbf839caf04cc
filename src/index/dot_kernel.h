#pragma once
// Private: the float32 inner-product kernel shared by ExactIndex and the FAISS brute-force path.
#include <cstddef>
#include <cstdint>

namespace mystyle::index::detail {

/// out[r] = dot(rows + r * dim, query) for r in [0, n_rows). `rows` row-major, contiguous.
/// Runtime-dispatched (AVX-512 / AVX2+FMA / baseline clones). Any summation order: callers rely
/// only on the bound |out - exact| <= dim * 2^-24 * sum |x_i q_i| (times a small safety factor).
void dot_rows(const float* rows, std::size_t n_rows, std::size_t dim, const float* query, float* out);

/// The largest int16 query magnitude for which an int8 x int16 dot product of `dim` terms cannot
/// overflow int32 (32767 up to dim 516).
std::int32_t int16_query_limit(std::size_t dim);

/// out[r] = scale * dot(codes + r * dim, query) for int8 rows and an int16 query whose entries are
/// within int16_query_limit(dim). The dot product is exact (int32); only the final conversion and
/// multiplication round (relative error <= 2^-23). Runtime-dispatched (AVX-512BW / AVX2 / plain).
void dot_rows_i8(const std::int8_t* codes, std::size_t n_rows, std::size_t dim, const std::int16_t* query,
                 float scale, float* out);

/// Writes to `out` the indices j < n (ascending) with values[j] >= threshold; returns how many.
/// `out` must hold n entries. AVX-512 compare-and-compress where available.
std::size_t select_at_least(const float* values, std::size_t n, float threshold, std::uint32_t* out);

}  // namespace mystyle::index::detail
