#include "mystyle/nn/context.h"

#include <omp.h>

namespace mystyle::nn {

Context::Context() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

void set_num_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

int num_threads() {
  return omp_get_max_threads();
}

}  // namespace mystyle::nn
