#pragma once
// Internal to the server: the photo queries' own pool (POST /api/recommend, /api/complete), sized to
// the cores and fed by one FIFO queue with a deadline (issue 26).
//
// A connection thread hands its query to PhotoQueue::run and waits; the workers take queries in
// arrival order. A query that cannot start within the wait budget is refused (503 + Retry-After), at
// once when the expected wait already says so (PhotoQueue::admission, called before the upload is
// read), else when its budget runs out in the queue. Reads never pass through here, so they never wait
// behind photo work.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mystyle::server {

struct PhotoQueueSettings {
  std::size_t workers = 2;  ///< queries computed at once (threads of the pool)
  /// Longest a query may wait in the queue for a worker; past it (or when the expected wait is
  /// already past it on arrival) it is refused.
  std::chrono::milliseconds wait_budget{1000};
  /// Queries admitted at once, waiting or running; one more is refused. 0 = no bound but the budget.
  std::size_t max_admitted = 0;
};

/// Why a query was refused, and when to come back.
struct PhotoRefusal {
  int retry_after_s = 1;  ///< the expected wait, rounded up, at least 1
  std::string reason;     ///< for the 503's message
};

/// What /metrics shows of the queue.
struct PhotoQueueStats {
  std::size_t workers = 0, waiting = 0, running = 0;
  std::uint64_t served = 0;         ///< queries run to the end (answered or failed)
  std::uint64_t refused_early = 0;  ///< refused on arrival (expected wait over budget, or max_admitted)
  std::uint64_t refused_late = 0;   ///< refused when their budget ran out in the queue
  double mean_service_ms = 0;       ///< moving average of a query's time on a worker
};

/// Thread-safe. The destructor finishes the queries running, refuses those waiting and joins the workers.
class PhotoQueue {
 public:
  explicit PhotoQueue(PhotoQueueSettings settings);
  ~PhotoQueue();
  PhotoQueue(const PhotoQueue&) = delete;
  PhotoQueue& operator=(const PhotoQueue&) = delete;

  /// The refusal a query arriving now would get (its expected wait, the queued queries times the mean
  /// service time over the workers, past the budget; or max_admitted reached), else nothing. Counts
  /// the refusal it returns.
  std::optional<PhotoRefusal> admission();

  /// Runs `work` on a worker in arrival order and returns once it is done (what it throws is rethrown
  /// here), or returns the refusal when it could not start within the budget (counted from now).
  std::optional<PhotoRefusal> run(std::function<void()> work);

  PhotoQueueStats stats() const;
  const PhotoQueueSettings& settings() const { return settings_; }

 private:
  struct Job;
  using Clock = std::chrono::steady_clock;

  void work();
  Clock::duration expected_wait_locked() const;
  PhotoRefusal refusal_locked(const char* why) const;
  std::optional<PhotoRefusal> refuse_on_arrival_locked();

  PhotoQueueSettings settings_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;  ///< a job queued, or stopping
  std::deque<std::shared_ptr<Job>> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  double mean_service_s_ = 0.005;  ///< seeded with a typical query's time; follows the measured ones
  PhotoQueueStats counts_;
  std::vector<std::thread> workers_;
};

}  // namespace mystyle::server
