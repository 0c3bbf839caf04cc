#include "mystyle/core/progress.h"

#include <fmt/format.h>

#include <cstdio>

namespace mystyle {

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() { finish(); }

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(std::int64_t n) {
  done_ += n;
  const auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || now - last_print_ < std::chrono::seconds(1)) return;
  last_print_ = now;
  print(false);
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  print(true);
}

void Progress::print(bool final) {
  const double seconds = elapsed_seconds();
  const std::int64_t done = done_.load();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  if (final) {
    fmt::print(stderr, "{}: {} {} in {} ({})\n", label_, done, unit_, format_duration(seconds),
               format_rate(rate, unit_));
    return;
  }
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  fmt::print(stderr, "{}: {}/{} {} ({:.0f}%), {}, ETA {}\n", label_, done, total_, unit_,
             total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0,
             format_rate(rate, unit_), format_duration(eta));
}

std::string format_duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const auto s = static_cast<long>(seconds + 0.5);
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, (s % 3600) / 60);
}

std::string format_rate(double per_second, const std::string& unit) {
  if (!(per_second > 0)) return fmt::format("0 {}/s", unit);
  if (per_second >= 9.95) return fmt::format("{:.0f} {}/s", per_second, unit);
  if (per_second >= 0.995) return fmt::format("{:.1f} {}/s", per_second, unit);
  return fmt::format("{:.2g} {}/s", per_second, unit);
}

}  // namespace mystyle
