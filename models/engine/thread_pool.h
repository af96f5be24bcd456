// A small fork-join pool for the CPU backend's math: the caller and n-1 workers split a range.
// Workers spin briefly between jobs (a decode step issues dozens of short jobs), then sleep.
// Parts are claimed, not assigned: when a worker is descheduled (a shared 2-core machine), the
// caller runs its parts instead of waiting for it.
//
//   ThreadPool pool(2);
//   pool.parallel_for(n_rows, [&](int64_t begin, int64_t end) { ... });
//
// Thread safety: one thread (the backend's owner) calls parallel_for at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"

namespace jamd::models::cpu {

class ThreadPool {
 public:
  // n_threads counts the caller: 1 runs everything inline and starts no thread.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Splits [0, n) into n_parts contiguous chunks (default: size()), runs them on the caller
  // and the workers, and returns when all are done. n_parts <= 1 runs fn(0, n) inline.
  void parallel_for(int64_t n, absl::FunctionRef<void(int64_t, int64_t)> fn, int n_parts = -1);

 private:
  void worker_loop();
  // Claims and runs parts of job `generation` until none is left.
  void run_parts(uint32_t generation);

  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};
  // (generation << 32) | (n_parts << 16) | next unclaimed part: a claim succeeds only for the
  // current job.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> done_parts_{0};
  std::atomic<bool> stop_{false};
  // The current job, published before generation_ and claim_ move on.
  const absl::FunctionRef<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
};

}  // namespace jamd::models::cpu
