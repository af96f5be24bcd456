// Per-thread nice values through setpriority(2) on the thread's own id.
#include "daemon/host/thread_priority.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace jamd {

bool set_thread_nice(int nice) {
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  return setpriority(PRIO_PROCESS, tid, nice) == 0;
}

bool start_at_nice(int nice, const std::function<void()>& start) {
  bool ok = false;
  std::thread helper([&] {
    ok = set_thread_nice(nice);
    start();
  });
  helper.join();
  return ok;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

}  // namespace jamd
