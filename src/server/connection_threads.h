#pragma once
// Internal to the server: the task queue cpp-httplib runs each accepted connection on (issue 26).
//
// cpp-httplib serves a connection on one thread from its first request to its close, idle keep-alive
// waits included. With a fixed pool, idle keep-alive connections held every worker while other
// clients' connections waited for one (seconds, unfairly). Here a thread starts whenever a connection
// finds none idle, up to `max_threads`; a thread idle for `idle_exit` exits (down to `min_threads`).
// A connection then costs a mostly sleeping thread (its stack's touched pages), not a core: the cores
// are spent by the photo queries' own pool (photo_queue.h), which is sized to them.
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace mystyle::server {

class ConnectionThreads : public httplib::TaskQueue {
 public:
  /// At most `max_threads` connections are served at once; beyond them `max_queued` wait, and then
  /// enqueue() (the accept loop) waits, leaving further connections in the kernel's backlog.
  ConnectionThreads(std::size_t max_threads, std::size_t max_queued, std::size_t min_threads,
                    std::chrono::milliseconds idle_exit);
  ~ConnectionThreads() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  /// Threads alive now (serving or idle).
  std::size_t threads() const;

 private:
  using Threads = std::list<std::thread>;
  void work(Threads::iterator self);
  void reap_locked();

  std::size_t max_threads_, max_queued_, min_threads_;
  std::chrono::milliseconds idle_exit_;
  mutable std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<std::function<void()>> jobs_;
  Threads threads_;
  std::vector<Threads::iterator> exited_;  ///< returned from work(), to be joined
  std::size_t idle_ = 0;                   ///< threads waiting for a job
  bool shutdown_ = false;
};

}  // namespace mystyle::server
