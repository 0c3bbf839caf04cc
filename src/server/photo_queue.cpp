#include "photo_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace mystyle::server {

struct PhotoQueue::Job {
  enum class State { kQueued, kRunning, kDone, kRefused };
  std::function<void()> work;
  State state = State::kQueued;
  std::exception_ptr error;
  std::condition_variable changed;  ///< state moved; waited on with mutex_
};

PhotoQueue::PhotoQueue(PhotoQueueSettings settings) : settings_(settings) {
  settings_.workers = std::max<std::size_t>(1, settings_.workers);
  counts_.workers = settings_.workers;
  for (std::size_t i = 0; i < settings_.workers; ++i) workers_.emplace_back([this] { work(); });
}

PhotoQueue::~PhotoQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& job : queue_) {
      job->state = Job::State::kRefused;
      job->changed.notify_all();
    }
    queue_.clear();
  }
  ready_.notify_all();
  for (auto& t : workers_) t.join();
}

PhotoQueue::Clock::duration PhotoQueue::expected_wait_locked() const {
  if (queue_.empty() && running_ < settings_.workers) return Clock::duration::zero();
  // A worker frees up every mean/workers on average; this query starts after those queued before it.
  const double seconds = double(queue_.size() + 1) * mean_service_s_ / double(settings_.workers);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

PhotoRefusal PhotoQueue::refusal_locked(const char* why) const {
  const double wait_s = std::chrono::duration<double>(expected_wait_locked()).count();
  PhotoRefusal r;
  r.retry_after_s = std::max(1, static_cast<int>(std::ceil(wait_s)));
  r.reason = fmt::format("busy: {} photo queries are waiting for {} workers ({}); retry in {} s", queue_.size(),
                         settings_.workers, why, r.retry_after_s);
  return r;
}

std::optional<PhotoRefusal> PhotoQueue::refuse_on_arrival_locked() {
  if (stopping_) return refusal_locked("the server is stopping");
  if (settings_.max_admitted > 0 && queue_.size() + running_ >= settings_.max_admitted) {
    ++counts_.refused_early;
    return refusal_locked(fmt::format("at most {} at once", settings_.max_admitted).c_str());
  }
  if (expected_wait_locked() > settings_.wait_budget) {
    ++counts_.refused_early;
    return refusal_locked(fmt::format("the wait would exceed {} ms", settings_.wait_budget.count()).c_str());
  }
  return std::nullopt;
}

std::optional<PhotoRefusal> PhotoQueue::admission() {
  std::lock_guard lock(mutex_);
  return refuse_on_arrival_locked();
}

std::optional<PhotoRefusal> PhotoQueue::run(std::function<void()> work) {
  const auto deadline = Clock::now() + settings_.wait_budget;
  auto job = std::make_shared<Job>();
  job->work = std::move(work);
  std::unique_lock lock(mutex_);
  if (auto refusal = refuse_on_arrival_locked()) return refusal;
  // A query that finds a worker idle is taken at once: it has no budget to run out.
  const bool worker_idle = running_ + queue_.size() < settings_.workers;
  queue_.push_back(job);
  ready_.notify_one();
  if (worker_idle) {
    job->changed.wait(lock, [&] { return job->state != Job::State::kQueued; });
  } else {
    job->changed.wait_until(lock, deadline, [&] { return job->state != Job::State::kQueued; });
  }
  if (job->state == Job::State::kQueued) {
    // Its budget ran out before a worker took it: leave the queue, and say so now.
    queue_.erase(std::find(queue_.begin(), queue_.end(), job));
    ++counts_.refused_late;
    return refusal_locked(fmt::format("waited {} ms", settings_.wait_budget.count()).c_str());
  }
  job->changed.wait(lock, [&] { return job->state != Job::State::kRunning; });
  if (job->state == Job::State::kRefused) return refusal_locked("the server is stopping");
  lock.unlock();
  if (job->error) std::rethrow_exception(job->error);
  return std::nullopt;
}

void PhotoQueue::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (stopping_) return;
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    job->state = Job::State::kRunning;
    job->changed.notify_all();
    ++running_;
    lock.unlock();
    const auto t0 = Clock::now();
    try {
      job->work();
    } catch (...) {
      job->error = std::current_exception();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    job->work = nullptr;
    lock.lock();
    --running_;
    ++counts_.served;
    // A short memory (about the last 20 queries), so the estimate follows a change of load quickly.
    mean_service_s_ += 0.05 * (seconds - mean_service_s_);
    job->state = Job::State::kDone;
    job->changed.notify_all();
  }
}

PhotoQueueStats PhotoQueue::stats() const {
  std::lock_guard lock(mutex_);
  PhotoQueueStats s = counts_;
  s.waiting = queue_.size();
  s.running = running_;
  s.mean_service_ms = 1000.0 * mean_service_s_;
  return s;
}

}  // namespace mystyle::server
