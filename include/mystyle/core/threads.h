#pragma once
/// The one meaning of a worker-thread option: a positive number is that many threads, 0 (or less)
/// means every core.
#include <algorithm>
#include <thread>

namespace mystyle {

/// `requested` when positive, else the machine's cores (at least 1).
inline int thread_count(int requested) {
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace mystyle
