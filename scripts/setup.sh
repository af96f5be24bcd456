#!/usr/bin/env bash
# Installs what jamd needs to build, test and run, from Debian 12 packages. Idempotent: installs
# only what is missing, so a second run takes seconds.
set -euo pipefail
packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git ca-certificates
  # libraries (the fixed dependency set)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libjack-jackd2-dev jackd2 libfluidsynth-dev timgm6mb-soundfont libsndfile1-dev libopus-dev
  libaubio-dev libsamplerate0-dev aubio-tools libboost-dev libgtest-dev libgmock-dev
  # training and the PyTorch reference (Debian's python3-torch, run with /usr/bin/python3)
  python3 python3-torch python3-numpy
  # tests: a self-made TLS certificate for the gRPC server (tests/daemon/api)
  openssl
  # tests: sanitizer runtimes and libFuzzer (clang); the layout check (scripts/format.sh)
  clang libclang-rt-14-dev clang-format
  # the web client's browser tests: Debian's Chromium, driven headless by playwright-core
  chromium
)
# the web client's build (clients/web): node and npm, unless a node install already brings them
# (Debian's npm package conflicts with NodeSource's nodejs, which carries its own npm)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # jackd2 asks whether to enable real-time priority; answer for it.
  echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
