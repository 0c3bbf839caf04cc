#pragma once
/// The oneDNN CPU engine and stream every layer of a model runs on, and the thread-count knob.
#include <oneapi/dnnl/dnnl.hpp>

namespace mystyle::nn {

/// A oneDNN CPU engine plus an in-order stream. Cheap to copy (both are shared handles).
/// Not thread-safe: one Context (and the models built on it) per thread of control.
class Context {
 public:
  Context();
  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
};

/// Sets how many threads oneDNN (OpenMP in Debian's build) uses from now on, for the whole process.
/// `threads <= 0` leaves the OpenMP default (OMP_NUM_THREADS, else all cores). Results are
/// bit-reproducible only for a fixed thread count.
void set_num_threads(int threads);

/// The thread count oneDNN will use for the next primitive.
int num_threads();

}  // namespace mystyle::nn
