// WebContext: what every HTTP and WebSocket connection of one WebServer shares (options, the
// session registry, the media, the static root), and WakeGate, through which threads outside
// the server (the session layer, the streamer) wake a connection without outliving the server.
//
// Thread safety: WebContext is immutable after start (the counters are atomics); WakeGate's
// methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/session/session_registry.h"
#include "daemon/stream/jam_media.h"
#include "daemon/web/web_server.h"

namespace jamd::web {

// Open until the server shuts down. A wake-up runs under the shared lock, so once close()
// returns no thread is still posting into the server's io_context.
class WakeGate {
 public:
  template <typename F>
  void run_if_open(F&& wake) {  // thread: any
    absl::ReaderMutexLock lock(&mu_);
    if (open_) wake();
  }
  void close() {  // thread: any
    absl::MutexLock lock(&mu_);
    open_ = false;
  }

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
};

struct WebContext {
  WebServerOptions options;
  SessionRegistry* jams = nullptr;
  JamMedia* media = nullptr;                         // may be null: no audio, no notes
  std::optional<std::filesystem::path> static_root;  // canonical; nullopt: no page
  WakeGate gate;
  std::atomic<size_t> n_websockets{0};
};

}  // namespace jamd::web
