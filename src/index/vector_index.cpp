#include "mystyle/index/vector_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <thread>

#include "mystyle/core/error.h"
#include "mystyle/core/threads.h"

namespace mystyle::index {

std::vector<std::vector<Neighbor>> VectorIndex::search_batch(std::span<const float> queries, std::size_t k,
                                                             const SearchParams& params,
                                                             std::size_t threads) const {
  const std::size_t d = dim();
  if (queries.size() % d != 0) {
    throw Error(fmt::format("search_batch: {} query values are not a multiple of dim {}", queries.size(), d));
  }
  const std::size_t n = queries.size() / d;
  std::vector<std::vector<Neighbor>> results(n);
  if (threads == 0) threads = static_cast<std::size_t>(thread_count(0));
  threads = std::min(threads, n);
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) results[i] = search(queries.subspan(i * d, d), k, params);
    return results;
  }
  // Contiguous chunks: each worker writes only its own result slots, so no locking is needed.
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::jthread> workers;
  workers.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::size_t begin = n * t / threads, end = n * (t + 1) / threads;
      try {
        for (std::size_t i = begin; i < end; ++i) results[i] = search(queries.subspan(i * d, d), k, params);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  workers.clear();  // joins
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return results;
}

}  // namespace mystyle::index
