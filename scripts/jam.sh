#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs jamd's main job on its
# bundled defaults: a jam with the bundled musician's take (daemon/data/demo_musician.mid: keys
# and melody, resting in bars 5-6), the band (drums, bass, pad) generated around it by the
# bundled model, bar by bar, through the same conductor, scheduler and synthesizer as a live
# jam, rendered offline on the virtual clock.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
JAMD_TARGET=jamd bash scripts/build.sh  # the jam needs only the daemon
mkdir -p out
./build/daemon/jamd render --input daemon/data/demo_musician.mid --parts drums,bass,pad \
  --out out/jam.wav --midi-out out/jam.mid --report out/jam.json
echo "jam.sh: listen to $(pwd)/out/jam.wav (the jam as MIDI: out/jam.mid; per-bar report:"
echo "        out/jam.json). Live with JACK: ./build/daemon/jamd play --jack; steer jams over"
echo "        gRPC: ./build/daemon/jamd serve, then ./build/clients/jamctl/jamctl --help"
