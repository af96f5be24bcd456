// RateLimiter: a token bucket for one WebSocket connection's messages (the steady rate and the
// burst allowed at once), like the session layer's steering limit but for every message kind.
//
//   RateLimiter limit(/*rate_per_s=*/50, /*burst=*/100);
//   if (!limit.try_take(absl::Now())) reply(RESOURCE_EXHAUSTED);
//
// Thread safety: none; one connection's strand owns it.
#pragma once

#include <algorithm>

#include "absl/time/time.h"

namespace jamd::web {

class RateLimiter {
 public:
  RateLimiter(double rate_per_s, double burst)
      : rate_per_s_(rate_per_s), burst_(burst), tokens_(burst) {}

  // Takes one token if there is one.
  bool try_take(absl::Time now) {
    if (last_ != absl::InfinitePast()) {
      tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_per_s_);
    }
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double rate_per_s_;
  const double burst_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace jamd::web
