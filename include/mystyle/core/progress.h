#pragma once
/// Progress of long work on stderr: "label  n/total  rate/s  ETA", at most once a second, and a
/// closing line. Thread-safe: workers may call advance() concurrently.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace mystyle {

class Progress {
 public:
  /// `unit` names what is counted ("images", "items").
  Progress(std::string label, std::int64_t total, std::string unit);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::int64_t n = 1);
  /// Prints the closing line (done automatically on destruction).
  void finish();
  double elapsed_seconds() const;

 private:
  void print(bool final);

  std::string label_, unit_;
  std::int64_t total_;
  std::atomic<std::int64_t> done_{0};
  std::chrono::steady_clock::time_point start_, last_print_;
  std::mutex mutex_;
  bool finished_ = false;
};

/// "1 min 05 s", "2.3 s": a duration for people.
std::string format_duration(double seconds);

/// "664 images/s", "2.5 images/s", "0.35 probes/s": a rate for people, never "0" for a slow one.
std::string format_rate(double per_second, const std::string& unit);

}  // namespace mystyle
