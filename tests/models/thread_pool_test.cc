// The CPU backend's fork-join pool: every index runs exactly once per job, job after job, with
// more parts than threads and with fewer.
#include "models/engine/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace jamd::models::cpu {
namespace {

TEST(ThreadPool, EveryIndexRunsExactlyOncePerJob) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(101);
    for (int job = 0; job < 2000; ++job) {
      const int64_t n = 1 + job % 101;
      const int parts = 1 + job % 9;  // 1..9 parts: fewer and more than the threads
      pool.parallel_for(
          n,
          [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
          },
          parts);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(hits[static_cast<size_t>(i)].exchange(0), 1)
            << "threads " << threads << " job " << job << " index " << i;
      }
    }
  }
}

TEST(ThreadPool, PoolOfOneRunsOnTheCaller) {
  ThreadPool pool(1);
  EXPECT_EQ(pool.size(), 1);
  int calls = 0;
  pool.parallel_for(10, [&](int64_t begin, int64_t end) {
    ++calls;
    EXPECT_EQ(begin, 0);
    EXPECT_EQ(end, 10);
  });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace jamd::models::cpu
