#!/usr/bin/env bash
# Configures and builds jamd into build/ (or $JAMD_BUILD_DIR). Extra arguments go to cmake.
# Builds the CUDA backend too when nvcc is present (it compiles without a GPU). $JAMD_TARGET
# builds those targets (space-separated) instead of all.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${JAMD_BUILD_DIR:-build}
cuda=OFF
if [ -x /usr/local/cuda/bin/nvcc ] && [ "${JAMD_CUDA:-auto}" != OFF ]; then cuda=ON; fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJAMD_CUDA="$cuda" "$@"
# shellcheck disable=SC2086 # $JAMD_TARGET may name several targets
cmake --build "$build" -j "$(nproc)" ${JAMD_TARGET:+--target $JAMD_TARGET}
