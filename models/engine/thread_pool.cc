// The CPU backend's fork-join pool: spin-then-sleep workers woken by a generation counter.
#include "models/engine/thread_pool.h"

#include <cassert>
#include <chrono>

namespace jamd::models::cpu {
namespace {

// About 20 us of spinning (in time-stamp-counter ticks at ~2 GHz): long enough to catch the next
// job of the same decode step, short enough not to steal a shared core from the thread that
// would post it. Counting PAUSE instructions instead varies 10x across CPUs.
constexpr uint64_t kSpinTicks = 40000;
// Caller-side waits yield the core after this many polls: the part it waits for may belong to a
// worker that shares its core.
constexpr int kPollsBeforeYield = 256;

inline uint64_t ticks() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc();
#else
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// Parts are counted in 16 bits of the claim word.
constexpr int kMaxParts = 0xffff;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  assert(n_threads >= 1);
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  generation_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_parts(uint32_t generation) {
  uint64_t c = claim_.load(std::memory_order_acquire);
  for (;;) {
    // A claim word of another job, or past its last part, ends this round.
    if (static_cast<uint32_t>(c >> 32) != generation) return;
    const int n_parts = static_cast<int>((c >> 16) & 0xffff);
    const int part = static_cast<int>(c & 0xffff);
    if (part >= n_parts) return;
    if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
    // The job cannot change before this part is counted done, so its fields are stable here.
    const int64_t begin = job_n_ * part / n_parts;
    const int64_t end = job_n_ * (part + 1) / n_parts;
    if (begin < end) (*job_)(begin, end);
    done_parts_.fetch_add(1, std::memory_order_acq_rel);
    c = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::parallel_for(int64_t n, absl::FunctionRef<void(int64_t, int64_t)> fn,
                              int n_parts) {
  if (n <= 0) return;
  if (n_parts < 0) n_parts = size();
  if (n_parts > n) n_parts = static_cast<int>(n);
  if (n_parts > kMaxParts) n_parts = kMaxParts;
  if (n_parts <= 1 || workers_.empty()) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  done_parts_.store(0, std::memory_order_relaxed);
  const uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
  claim_.store((uint64_t{generation} << 32) | (uint64_t(n_parts) << 16), std::memory_order_release);
  generation_.store(generation, std::memory_order_release);
  generation_.notify_all();
  run_parts(generation);
  for (int polls = 0; done_parts_.load(std::memory_order_acquire) != n_parts; ++polls) {
    if (polls < kPollsBeforeYield) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::worker_loop() {
  // Generation 0 is the pool's state at construction; reading the counter here instead would
  // miss a job posted before this thread got to run.
  uint32_t seen = 0;
  for (;;) {
    uint32_t now = seen;
    for (const uint64_t start = ticks(); ticks() - start < kSpinTicks;) {
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
    run_parts(now);
  }
}

}  // namespace jamd::models::cpu
