#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings as errors, and runs
# every test (CTest; GPU tests skip without a device).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DJAMD_WERROR=ON
cd "${JAMD_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j "$(nproc)"
