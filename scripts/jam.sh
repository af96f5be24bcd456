#!/usr/bin/env bash
# The README's main command: installs what is missing, builds jamd and its web page, and jams on
# the bundled defaults.
#  1. Offline: the bundled musician's take (daemon/data/demo_musician.mid: keys and melody,
#     resting in bars 5-6) with the band (drums, bass, pad) generated around it bar by bar by the
#     bundled model, through the same conductor, scheduler and synthesizer as live: out/jam.wav,
#     out/jam.mid, out/jam.json.
#  2. Live: with a JACK server running, `jamd jam --jack` plays with whoever is on
#     jamd:in_1/in_2/midi_in and records into out/live/; without one, `jamd serve` plays a demo
#     jam on the real-time virtual clock and prints the web page's address (open it to hear,
#     see and steer the jam; jamctl works too). Ctrl-C stops; JAMD_JAM_SECONDS=N stops after N s.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
JAMD_TARGET="jamd jamctl jamd_web_client" bash scripts/build.sh
mkdir -p out
./build/daemon/jamd render --input daemon/data/demo_musician.mid --parts drums,bass,pad \
  --out out/jam.wav --midi-out out/jam.mid --report out/jam.json
echo "jam.sh: listen to $(pwd)/out/jam.wav (the jam as MIDI: out/jam.mid; per-bar report:"
echo "        out/jam.json)"

seconds=${JAMD_JAM_SECONDS:-}
run_for() {  # runs "$@" until Ctrl-C, or for $seconds then SIGINT (a graceful stop)
  if [ -n "$seconds" ]; then
    timeout -s INT -k 10 "$seconds" "$@" || [ $? -eq 124 ]
  else
    "$@"
  fi
}
if jack_lsp >/dev/null 2>&1; then
  echo "jam.sh: a JACK server is running: jamming live on it (jamd:in_1/in_2 and jamd:midi_in"
  echo "        hear you; the band plays on jamd:out_L/out_R and jamd:midi_out), recording into"
  echo "        $(pwd)/out/live/. Ctrl-C stops."
  run_for ./build/daemon/jamd jam --jack --autoconnect --record out/live
else
  port=${JAMD_HTTP_PORT:-8080}
  echo "jam.sh: no JACK server: a live demo jam on the virtual clock; open the web address"
  echo "        below to hear, see and steer it (or: ./build/clients/jamctl/jamctl --help)."
  echo "        Ctrl-C stops."
  run_for ./build/daemon/jamd serve --demo --http "127.0.0.1:$port" \
    --web-root build/clients/web/dist
fi
