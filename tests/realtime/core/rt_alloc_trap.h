// An allocation trap for tests: this test binary replaces malloc and friends (and so operator
// new, which calls malloc) with versions that check a thread-local "RT section" flag. Inside a
// trapping section an allocation or free aborts with a message; inside a counting section it is
// counted. Not for sanitizer builds (they replace malloc themselves).
//
//   { RtSection rt(RtSection::Mode::kTrap); band.process(block); }   // aborts if it allocates
//   { RtSection rt(RtSection::Mode::kCount); synth.render(...); n = rt.allocations(); }
//
// Thread safety: the flag and counter are per thread.
#pragma once

#include <cstdint>

namespace jamd::realtime {

class RtSection {
 public:
  enum class Mode { kTrap, kCount };
  explicit RtSection(Mode mode);
  ~RtSection();
  RtSection(const RtSection&) = delete;
  RtSection& operator=(const RtSection&) = delete;
  // Allocations (malloc, calloc, realloc, aligned) and frees seen since this section began.
  uint64_t allocations() const;
  uint64_t frees() const;

 private:
  uint64_t allocations_at_start_;
  uint64_t frees_at_start_;
};

}  // namespace jamd::realtime
