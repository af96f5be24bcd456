#!/usr/bin/env bash
# Runs the API request fuzzer for a bounded time over its seed corpus; fails on any crash or
# sanitizer report. Usage: run_request_fuzz.sh FUZZER SEED_WRITER WORK_DIR SECONDS
set -euo pipefail
fuzzer=$1 seed_writer=$2 work=$3 seconds=$4
if [ ! -x "$fuzzer" ]; then
  echo "request fuzz: $fuzzer was not built (it needs clang++ and libclang-rt-14-dev):" \
    "run scripts/setup.sh, then rebuild" >&2
  exit 1
fi
rm -rf "$work"
mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
"$seed_writer" "$work/seeds"
# -rss_limit_mb bounds what a hostile request may make the translation allocate.
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$work/seeds"
