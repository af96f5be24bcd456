#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs jamd's main job on its
# bundled defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/daemon/jamd --help
