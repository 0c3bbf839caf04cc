// The server's two pools on their own (issue 26): the photo queue (FIFO, wait budget, errors carried
// back) and the connection threads (one per connection, up to the cap; idle ones end).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "connection_threads.h"
#include "photo_queue.h"

namespace mystyle::server {
namespace {

using namespace std::chrono_literals;

/// A gate the test opens: jobs that wait on it hold their worker until then.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(m_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// Polls `done` until it holds (the queue's state moves on other threads); fails after 20 s.
template <typename F>
void wait_until(F done) {
  for (int i = 0; i < 20000 && !done(); ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(done());
}

TEST(PhotoQueue, RunsQueriesInArrivalOrder) {
  PhotoQueue queue({.workers = 1, .wait_budget = 60s, .max_admitted = 0});
  Gate gate;
  std::vector<std::future<void>> callers;
  callers.push_back(std::async(std::launch::async, [&] { queue.run([&] { gate.wait(); }); }));
  wait_until([&] { return queue.stats().running == 1; });
  std::mutex m;
  std::vector<int> order;
  for (int i = 0; i < 6; ++i) {
    callers.push_back(std::async(std::launch::async, [&, i] {
      EXPECT_FALSE(queue.run([&, i] {
        std::lock_guard lock(m);
        order.push_back(i);
      }));
    }));
    // The next caller arrives only once this one is queued.
    wait_until([&] { return queue.stats().waiting == static_cast<std::size_t>(i + 1); });
  }
  gate.open();
  for (auto& c : callers) c.get();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(queue.stats().served, 7u);
}

// A query that cannot start within its budget is refused (with a Retry-After of at least 1 s) and
// leaves the queue; the one holding the worker is unaffected.
TEST(PhotoQueue, RefusesAQueryThatCannotStartWithinItsBudget) {
  PhotoQueue queue({.workers = 1, .wait_budget = 50ms, .max_admitted = 0});
  Gate gate;
  auto holder = std::async(std::launch::async, [&] { return queue.run([&] { gate.wait(); }); });
  wait_until([&] { return queue.stats().running == 1; });
  bool ran = false;
  const auto refusal = queue.run([&] { ran = true; });
  ASSERT_TRUE(refusal);
  EXPECT_FALSE(ran);
  EXPECT_GE(refusal->retry_after_s, 1);
  EXPECT_NE(refusal->reason.find("busy"), std::string::npos) << refusal->reason;
  EXPECT_EQ(queue.stats().waiting, 0u);
  gate.open();
  EXPECT_FALSE(holder.get());
  EXPECT_FALSE(queue.run([&] { ran = true; }));
  EXPECT_TRUE(ran);
}

// With the workers busy and the expected wait already past the budget, a query is refused on
// arrival, before it is queued (what the server asks before reading an upload).
TEST(PhotoQueue, RefusesOnArrivalWhenTheExpectedWaitIsPastTheBudget) {
  PhotoQueue queue({.workers = 1, .wait_budget = 0ms, .max_admitted = 0});
  EXPECT_FALSE(queue.admission()) << "an idle worker: no wait";
  Gate gate;
  auto holder = std::async(std::launch::async, [&] { return queue.run([&] { gate.wait(); }); });
  wait_until([&] { return queue.stats().running == 1; });
  EXPECT_TRUE(queue.admission());
  EXPECT_TRUE(queue.run([] {}));
  EXPECT_EQ(queue.stats().refused_early, 2u);
  gate.open();
  EXPECT_FALSE(holder.get());
}

TEST(PhotoQueue, BoundsTheQueriesAdmittedAtOnce) {
  PhotoQueue queue({.workers = 1, .wait_budget = 60s, .max_admitted = 2});
  Gate gate;
  auto a = std::async(std::launch::async, [&] { return queue.run([&] { gate.wait(); }); });
  wait_until([&] { return queue.stats().running == 1; });
  auto b = std::async(std::launch::async, [&] { return queue.run([] {}); });
  wait_until([&] { return queue.stats().waiting == 1; });
  const auto third = queue.admission();
  ASSERT_TRUE(third);
  EXPECT_NE(third->reason.find("at most 2"), std::string::npos) << third->reason;
  gate.open();
  EXPECT_FALSE(a.get());
  EXPECT_FALSE(b.get());
}

TEST(PhotoQueue, RethrowsWhatTheQueryThrowsOnTheCallersThread) {
  PhotoQueue queue({.workers = 2, .wait_budget = 60s, .max_admitted = 0});
  EXPECT_THROW(queue.run([] { throw std::invalid_argument("bad photo"); }), std::invalid_argument);
  std::thread::id ran_on;
  EXPECT_FALSE(queue.run([&] { ran_on = std::this_thread::get_id(); }));
  EXPECT_NE(ran_on, std::this_thread::get_id()) << "the query runs on a worker of the queue";
}

// Every connection gets a thread of its own, up to the cap: here 6 jobs that each wait for all 6 to
// have started can only finish if they run at once.
TEST(ConnectionThreads, StartsAThreadPerConnectionUpToTheCap) {
  ConnectionThreads threads(/*max_threads=*/6, /*max_queued=*/4, /*min_threads=*/1, /*idle_exit=*/50ms);
  std::mutex m;
  std::condition_variable cv;
  int started = 0;
  std::atomic<int> finished{0};
  for (int i = 0; i < 6; ++i) {
    threads.enqueue([&] {
      std::unique_lock lock(m);
      ++started;
      cv.notify_all();
      cv.wait(lock, [&] { return started == 6; });
      ++finished;
    });
  }
  wait_until([&] { return finished.load() == 6; });
  // Idle threads end, down to the minimum; a later connection joins them and is served.
  wait_until([&] { return threads.threads() == 1; });
  threads.enqueue([&] { ++finished; });
  wait_until([&] { return finished.load() == 7; });
  threads.shutdown();
}

// Past the cap, connections wait for a thread in arrival order, and each is served.
TEST(ConnectionThreads, QueuesConnectionsPastTheCap) {
  ConnectionThreads threads(/*max_threads=*/2, /*max_queued=*/64, /*min_threads=*/0, /*idle_exit=*/10s);
  std::atomic<int> served{0};
  for (int i = 0; i < 50; ++i) threads.enqueue([&] { ++served; });
  wait_until([&] { return served.load() == 50; });
  EXPECT_LE(threads.threads(), 2u);
  threads.shutdown();
}

}  // namespace
}  // namespace mystyle::server
