#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as errors, and runs
# every test (CTest; GPU tests skip without a device). Then two sanitizer stages, each building
# only the tests labelled for it (tests/CMakeLists.txt says how a test joins one):
#   build-asan: AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer, label `sanitize`;
#   build-tsan: ThreadSanitizer, label `tsan` (pure lock-free rings and queues).
# JAMD_SANITIZE_STAGES=0 skips the two stages (a quicker local run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DJAMD_WERROR=ON
(cd "${JAMD_BUILD_DIR:-build}" && ctest --output-on-failure --timeout 600 -j "$(nproc)")

[ "${JAMD_SANITIZE_STAGES:-1}" = 0 ] && exit 0

# A sanitizer report fails the test that triggered it, with a stack.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# sanitizer_stage DIR SANITIZER TARGET LABEL: configure DIR with JAMD_SANITIZE=SANITIZER (no
# CUDA, no benchmarks), build TARGET only, run the tests labelled exactly LABEL. Warnings are
# not errors here: the normal build already holds them, and GCC warns differently under
# sanitizers (its instrumentation trips -Wmaybe-uninitialized and friends).
sanitizer_stage() {
  local dir=$1 sanitizer=$2 target=$3 label=$4 start=$SECONDS
  JAMD_CUDA=OFF JAMD_BUILD_DIR="$dir" JAMD_TARGET="$target" bash scripts/build.sh \
    -DJAMD_WERROR=OFF -DJAMD_SANITIZE="$sanitizer" -DJAMD_BUILD_BENCH=OFF
  ctest --test-dir "$dir" -L "^$label\$" --no-tests=error --output-on-failure --timeout 600 \
    -j "$(nproc)"
  echo "test.sh: the $sanitizer stage ($dir, label $label) took $((SECONDS - start)) s"
}
sanitizer_stage build-asan address jamd_sanitize_tests sanitize
sanitizer_stage build-tsan thread jamd_tsan_tests tsan
