#include "mystyle/index/metric.h"

#include <fmt/format.h>

#include "mystyle/core/error.h"

namespace mystyle::index {

std::string_view metric_name(Metric metric) {
  switch (metric) {
    case Metric::kCosine:
      return "cosine";
    case Metric::kEuclidean:
      return "euclidean";
    case Metric::kPearson:
      return "pearson";
  }
  return "unknown";
}

Metric parse_metric(std::string_view name) {
  for (Metric m : {Metric::kCosine, Metric::kEuclidean, Metric::kPearson}) {
    if (metric_name(m) == name) return m;
  }
  throw Error(fmt::format("unknown metric '{}' (expected cosine, euclidean or pearson)", name));
}

}  // namespace mystyle::index
