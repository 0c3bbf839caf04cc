#pragma once
/// Request counters and a latency histogram, exported in the Prometheus text format (0.0.4).
/// Thread-safe: every method may be called from any worker thread.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace mystyle::server {

/// The route a request path belongs to, with ids replaced ("/api/items/{id}"), so that labels
/// stay few; paths that match no route are "other". The labels are the server's route table's
/// (src/server/route_table.cpp), the one its routes are registered from.
std::string route_label(std::string_view path);

class Metrics {
 public:
  /// Latency histogram bucket upper bounds, in seconds.
  static constexpr std::array<double, 12> kBucketsSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

  /// Counts one finished request. `route` should come from route_label().
  void record(const std::string& route, const std::string& method, int status, double seconds);

  /// Requests, histogram and errors as Prometheus text, followed by `extra` (already formatted
  /// lines, e.g. gauges owned by the caller).
  std::string prometheus_text(const std::string& extra = {}) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBucketsSeconds.size()> buckets{};  ///< non-cumulative
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  ///< route, method, status
  std::map<std::string, Histogram> latency_;                                     ///< by route
  std::map<std::pair<std::string, int>, std::uint64_t> errors_;                  ///< route, status >= 400
};

}  // namespace mystyle::server
