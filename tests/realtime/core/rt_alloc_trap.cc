// The allocation trap's malloc family: forwards to glibc's own entry points (__libc_malloc and
// friends), checking the thread-local RT-section flag first.
#include "tests/realtime/core/rt_alloc_trap.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* p);
}

namespace {

enum class State { kOff, kTrap, kCount };
thread_local State t_state = State::kOff;
thread_local uint64_t t_allocations = 0;
thread_local uint64_t t_frees = 0;

void trap(const char* what) {
  // write(2) and abort(): nothing here may allocate.
  const char prefix[] = "rt_alloc_trap: ";
  const char suffix[] = " on the RT path (STYLE.md: the RT thread never allocates)\n";
  ssize_t ignored = ::write(2, prefix, sizeof(prefix) - 1);
  ignored = ::write(2, what, std::strlen(what));
  ignored = ::write(2, suffix, sizeof(suffix) - 1);
  (void)ignored;
  std::abort();
}

void on_allocate(const char* what) {
  if (t_state == State::kOff) return;
  ++t_allocations;
  if (t_state == State::kTrap) trap(what);
}

void on_free(void* p) {
  if (p == nullptr || t_state == State::kOff) return;
  ++t_frees;
  if (t_state == State::kTrap) trap("free()");
}

}  // namespace

extern "C" {

void* malloc(size_t size) {
  on_allocate("malloc()");
  return __libc_malloc(size);
}

void* calloc(size_t n, size_t size) {
  on_allocate("calloc()");
  return __libc_calloc(n, size);
}

void* realloc(void* p, size_t size) {
  on_allocate("realloc()");
  return __libc_realloc(p, size);
}

void free(void* p) {
  on_free(p);
  __libc_free(p);
}

void* memalign(size_t alignment, size_t size) {
  on_allocate("memalign()");
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) {
  on_allocate("aligned_alloc()");
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  on_allocate("posix_memalign()");
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

}  // extern "C"

namespace jamd::realtime {

RtSection::RtSection(Mode mode) : allocations_at_start_(t_allocations), frees_at_start_(t_frees) {
  t_state = mode == Mode::kTrap ? State::kTrap : State::kCount;
}

RtSection::~RtSection() { t_state = State::kOff; }

uint64_t RtSection::allocations() const { return t_allocations - allocations_at_start_; }
uint64_t RtSection::frees() const { return t_frees - frees_at_start_; }

}  // namespace jamd::realtime
