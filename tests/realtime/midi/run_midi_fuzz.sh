#!/usr/bin/env bash
# Runs the MIDI parser fuzzer for a bounded time over a seed corpus; fails on any crash or
# sanitizer report. Usage: run_midi_fuzz.sh FUZZER SEED_WRITER WORK_DIR SECONDS [EXTRA_SEED...]
set -euo pipefail
fuzzer=$1 seed_writer=$2 work=$3 seconds=$4
shift 4
if [ ! -x "$fuzzer" ]; then
  echo "midi fuzz: $fuzzer was not built (it needs clang++ and libclang-rt-14-dev):" \
    "run scripts/setup.sh, then rebuild" >&2
  exit 1
fi
rm -rf "$work"
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
"$seed_writer" "$work/seeds"
for extra in "$@"; do cp "$extra" "$work/seeds/"; done
# -detect_leaks stays on; -rss_limit_mb bounds what a hostile input may make the parser allocate.
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$work/seeds"
