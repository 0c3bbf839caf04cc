#pragma once
// Private: the float32 inner-product kernel shared by ExactIndex and the FAISS brute-force path.
#include <cstddef>

namespace mystyle::index::detail {

/// out[r] = dot(rows + r * dim, query) for r in [0, n_rows). `rows` row-major, contiguous.
/// Runtime-dispatched (AVX-512 / AVX2+FMA / baseline clones). Any summation order: callers rely
/// only on the bound |out - exact| <= dim * 2^-24 * sum |x_i q_i| (times a small safety factor).
void dot_rows(const float* rows, std::size_t n_rows, std::size_t dim, const float* query, float* out);

}  // namespace mystyle::index::detail
