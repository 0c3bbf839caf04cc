#include "mystyle/server/metrics.h"

#include <fmt/format.h>

namespace mystyle::server {

void Metrics::record(const std::string& route, const std::string& method, int status, double seconds) {
  std::size_t bucket = 0;
  while (bucket < kBucketsSeconds.size() && seconds > kBucketsSeconds[bucket]) ++bucket;
  std::lock_guard lock(mutex_);
  ++requests_[{route, method, status}];
  Histogram& h = latency_[route];
  if (bucket < kBucketsSeconds.size()) ++h.buckets[bucket];
  ++h.count;
  h.sum_seconds += seconds;
  if (status >= 400) ++errors_[{route, status}];
}

std::string Metrics::prometheus_text(const std::string& extra) const {
  std::string out;
  std::lock_guard lock(mutex_);
  out += "# HELP mystyle_http_requests_total HTTP requests answered, by route, method and status.\n";
  out += "# TYPE mystyle_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += fmt::format("mystyle_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n", route,
                       method, status, n);
  }
  out += "# HELP mystyle_http_request_duration_seconds Time from request line to response, by route.\n";
  out += "# TYPE mystyle_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBucketsSeconds.size(); ++i) {
      cumulative += h.buckets[i];
      out += fmt::format("mystyle_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
                         kBucketsSeconds[i], cumulative);
    }
    out += fmt::format("mystyle_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route,
                       h.count);
    out +=
        fmt::format("mystyle_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, h.sum_seconds);
    out += fmt::format("mystyle_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route, h.count);
  }
  out +=
      "# HELP mystyle_http_errors_total Requests answered with a 4xx or 5xx status, by route and status.\n";
  out += "# TYPE mystyle_http_errors_total counter\n";
  for (const auto& [key, n] : errors_) {
    out +=
        fmt::format("mystyle_http_errors_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  }
  out += extra;
  return out;
}

}  // namespace mystyle::server
