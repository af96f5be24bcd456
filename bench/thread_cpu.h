// Per-thread CPU time of this process, grouped by thread name, from the kernel's scheduler
// statistics (/proc/self/task/*/schedstat: nanoseconds on a CPU, nanoseconds waiting for one,
// times scheduled in). CPU time is far less load-sensitive than wall time: it says where the
// work goes even on a busy machine; the run-queue wait says who lost the competition for a core.
//
//   ThreadCpuSnapshot a = ThreadCpuSnapshot::take();   ... work ...
//   for (const ThreadGroupCpu& g : cpu_by_group(a, ThreadCpuSnapshot::take())) print(g);
//
// Threads that ended between the snapshots are lost (their time is not counted).
#pragma once

#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace jamd::bench {

struct ThreadCpu {
  std::string name;  // /proc/self/task/TID/comm
  uint64_t cpu_ns = 0;
  uint64_t wait_ns = 0;  // runnable but not running
  uint64_t runs = 0;     // times scheduled in (about one per wake-up)
};

struct ThreadCpuSnapshot {
  std::map<int, ThreadCpu> threads;  // by TID

  static ThreadCpuSnapshot take() {
    ThreadCpuSnapshot s;
    DIR* dir = opendir("/proc/self/task");
    if (dir == nullptr) return s;
    while (const dirent* e = readdir(dir)) {
      const int tid = std::atoi(e->d_name);
      if (tid <= 0) continue;
      const std::string base = std::string("/proc/self/task/") + e->d_name;
      ThreadCpu t;
      std::ifstream(base + "/comm") >> t.name;
      std::ifstream stat(base + "/schedstat");
      // A thread that ended while we read is left out.
      if (stat >> t.cpu_ns >> t.wait_ns >> t.runs && !t.name.empty()) s.threads[tid] = t;
    }
    closedir(dir);
    return s;
  }
};

struct ThreadGroupCpu {
  std::string name;
  int n_threads = 0;
  double cpu_s = 0, wait_s = 0;
  uint64_t runs = 0;
};

// What each group of threads (same name) spent between `before` and `after`, busiest first.
// gRPC's and the libraries' threads keep their own names; unnamed ones carry the program's.
inline std::vector<ThreadGroupCpu> cpu_by_group(const ThreadCpuSnapshot& before,
                                                const ThreadCpuSnapshot& after) {
  std::map<std::string, ThreadGroupCpu> groups;
  for (const auto& [tid, t] : after.threads) {
    ThreadCpu from;
    if (auto it = before.threads.find(tid); it != before.threads.end()) from = it->second;
    if (t.cpu_ns < from.cpu_ns) continue;  // a reused TID
    ThreadGroupCpu& g = groups[t.name];
    g.name = t.name;
    ++g.n_threads;
    g.cpu_s += static_cast<double>(t.cpu_ns - from.cpu_ns) * 1e-9;
    g.wait_s += static_cast<double>(t.wait_ns - from.wait_ns) * 1e-9;
    g.runs += t.runs - from.runs;
  }
  std::vector<ThreadGroupCpu> out;
  for (auto& [name, g] : groups) out.push_back(g);
  std::sort(out.begin(), out.end(),
            [](const ThreadGroupCpu& a, const ThreadGroupCpu& b) { return a.cpu_s > b.cpu_s; });
  return out;
}

}  // namespace jamd::bench
