#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs jamd's main job on its
# bundled defaults: renders the bundled demo song through the band's scheduler and synthesizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
mkdir -p out
./build/daemon/jamd play --out out/demo.wav
echo "jam.sh: listen to $(pwd)/out/demo.wav (live instead: ./build/daemon/jamd play --jack)"
