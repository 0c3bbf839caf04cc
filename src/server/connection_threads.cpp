#include "connection_threads.h"

#include <algorithm>

namespace mystyle::server {

ConnectionThreads::ConnectionThreads(std::size_t max_threads, std::size_t max_queued, std::size_t min_threads,
                                     std::chrono::milliseconds idle_exit)
    : max_threads_(std::max<std::size_t>(1, max_threads)),
      max_queued_(std::max<std::size_t>(1, max_queued)),
      min_threads_(std::min(min_threads, max_threads_)),
      idle_exit_(idle_exit) {}

ConnectionThreads::~ConnectionThreads() {
  shutdown();
}

void ConnectionThreads::enqueue(std::function<void()> fn) {
  std::unique_lock lock(mutex_);
  reap_locked();
  space_.wait(lock, [&] { return jobs_.size() < max_queued_ || shutdown_; });
  jobs_.push_back(std::move(fn));
  if (idle_ >= jobs_.size() || threads_.size() - exited_.size() >= max_threads_) {
    ready_.notify_one();
    return;
  }
  // No idle thread for this connection: start one. It is made before its iterator is known, so the
  // thread object is put in place first and the thread started into it.
  const auto self = threads_.emplace(threads_.end());
  *self = std::thread([this, self] { work(self); });
}

void ConnectionThreads::work(Threads::iterator self) {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    const bool woken = ready_.wait_for(lock, idle_exit_, [&] { return !jobs_.empty() || shutdown_; });
    --idle_;
    if (!woken) {
      if (threads_.size() - exited_.size() > min_threads_) {
        exited_.push_back(self);
        return;
      }
      continue;
    }
    if (jobs_.empty()) return;  // shutting down, nothing left to serve
    std::function<void()> fn = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    space_.notify_one();
    fn();
    fn = nullptr;
    lock.lock();
  }
}

void ConnectionThreads::reap_locked() {
  // These threads have left work() and hold nothing: joining them here is immediate.
  for (const auto it : exited_) {
    it->join();
    threads_.erase(it);
  }
  exited_.clear();
}

void ConnectionThreads::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (shutdown_) return;
    shutdown_ = true;
  }
  ready_.notify_all();
  space_.notify_all();
  // No thread starts after shutdown_; the list is only read here from now on.
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::size_t ConnectionThreads::threads() const {
  std::lock_guard lock(mutex_);
  return threads_.size() - exited_.size();
}

}  // namespace mystyle::server
