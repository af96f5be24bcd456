// The CPU backend's fork-join pool: spin-then-sleep workers woken by a generation counter.
#include "models/engine/thread_pool.h"

#include <cassert>

namespace jamd::models::cpu {
namespace {

// About 20-50 us of spinning: long enough to catch the next job of the same decode step,
// short enough not to steal a shared core for long when the conductor goes idle.
constexpr int kSpinIterations = 20000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  assert(n_threads >= 1);
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_part(absl::FunctionRef<void(int64_t, int64_t)> fn, int64_t n, int part,
                          int n_parts) {
  const int64_t begin = n * part / n_parts;
  const int64_t end = n * (part + 1) / n_parts;
  if (begin < end) fn(begin, end);
}

void ThreadPool::parallel_for(int64_t n, absl::FunctionRef<void(int64_t, int64_t)> fn,
                              int n_parts) {
  if (n <= 0) return;
  if (n_parts < 0 || n_parts > size()) n_parts = size();
  if (n_parts > n) n_parts = static_cast<int>(n);
  if (n_parts <= 1) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_parts_ = n_parts;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  run_part(fn, n, 0, n_parts);
  while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  // Generation 0 is the pool's state at construction; reading the counter here instead would
  // miss a job posted before this thread got to run.
  uint32_t seen = 0;
  for (;;) {
    uint32_t now = seen;
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      now = generation_.load(std::memory_order_acquire);
      if (now != seen) break;
      cpu_relax();
    }
    while (now == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      now = generation_.load(std::memory_order_acquire);
    }
    seen = now;
    if (stop_.load(std::memory_order_acquire)) return;
    if (index < job_parts_) run_part(*job_, job_n_, index, job_parts_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace jamd::models::cpu
