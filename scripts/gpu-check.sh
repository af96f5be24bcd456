#!/usr/bin/env bash
# One command for the whole GPU picture: builds the CUDA backend, runs its parity tests (label
# `cuda`), the decode benchmark and the PyTorch reference on the same GPU, and writes every
# result into one folder ($OUT when set, else build-gpu-check/results). See docs/cuda.md.
#
#   scripts/gpu-check.sh                      # build from source here (needs the Debian deps)
#   scripts/gpu-check.sh --bundle .gpu-bundle # build here (no GPU needed), pack binaries + libs
#   scripts/gpu-check.sh --prebuilt .gpu-bundle  # on a GPU box without the deps: run the pack
# Options: --out DIR, --batches 1,16,..., --steps N, --skip-tests, --skip-bench
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mode=source prebuilt="" bundle="" out="${OUT:-$repo/build-gpu-check/results}"
batches=1,16,64,256,1024,4096,8192,10240,16384 steps=100 skip_tests=0 skip_bench=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prebuilt) mode=prebuilt prebuilt=$(cd "$2" && pwd); shift 2 ;;
    --bundle) mode=bundle bundle="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --skip-tests) skip_tests=1; shift ;;
    --skip-bench) skip_bench=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

build_here() {  # $1: build dir
  local nvcc=/usr/local/cuda/bin/nvcc
  [[ -x $nvcc ]] || { echo "gpu-check: no $nvcc; install the CUDA toolkit" >&2; exit 1; }
  mkdir -p "$1"
  cmake -S "$repo" -B "$1" -G Ninja -DJAMD_CUDA=ON \
    -DCMAKE_CUDA_COMPILER=$nvcc >"$1/configure.log" 2>&1 ||
    { tail -30 "$1/configure.log"; exit 1; }
  cmake --build "$1" --target cuda_backend_test cuda_decode_bench -j"${JOBS:-2}"
}

if [[ $mode == bundle ]]; then
  build="$repo/build-gpu"
  mkdir -p "$build"
  build_here "$build"
  rm -rf "$bundle" && mkdir -p "$bundle/lib"
  cp "$build/tests/cuda/cuda_backend_test" "$build/bench/cuda_decode_bench" "$bundle/"
  strip "$bundle"/cuda_*
  # Libraries the GPU image may lack (abseil, GoogleTest, ...); the CUDA and C runtimes stay.
  for bin in "$bundle"/cuda_*; do
    ldd "$bin" | awk '/=> \//{print $3}'
  done | sort -u | grep -vE '/(libc|libm|libdl|librt|libpthread|ld-linux|libgcc_s)[.-]|libcublas|libcudart|libcuda\.' |
    while read -r lib; do cp -L "$lib" "$bundle/lib/"; done
  du -sh "$bundle"
  exit 0
fi

mkdir -p "$out"
if [[ $mode == prebuilt ]]; then
  bin_test="$prebuilt/cuda_backend_test" bin_bench="$prebuilt/cuda_decode_bench"
  cuda_lib=""
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    [[ -e $d/libcublas.so.13 ]] && cuda_lib=$d && break
  done
  if [[ -z $cuda_lib ]]; then
    found=$(find /usr /opt -name 'libcublas.so.13' -print -quit 2>/dev/null || true)
    cuda_lib=$(dirname "${found:-/nonexistent/x}")
  fi
  export LD_LIBRARY_PATH="$prebuilt/lib:$cuda_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  build="$repo/build-gpu-check"
  build_here "$build"
  bin_test="$build/tests/cuda/cuda_backend_test" bin_bench="$build/bench/cuda_decode_bench"
fi

{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true
} >"$out/device.txt"
cat "$out/device.txt"

status=0
export JAMD_SOURCE_DIR="$repo"
if [[ $skip_tests == 0 ]]; then
  echo "== cuda tests"
  # Bounded, so a hang shows up as a failure with the backend's trace instead of eating the run.
  JAMD_CUDA_TRACE=${JAMD_CUDA_TRACE:-} timeout 600 "$bin_test" --gtest_output="xml:$out/cuda_tests.xml" 2>&1 |
    tee "$out/cuda_tests.log" ||
    status=1
fi
if [[ $skip_bench == 0 ]]; then
  model=$(mktemp /tmp/jamd-bench-XXXXXX.jamd)
  echo "== cuda decode benchmark"
  timeout 600 "$bin_bench" --batches="$batches" --steps="$steps" --save-model="$model" \
    --out="$out/cuda_decode.tsv" 2>&1 | tee "$out/cuda_decode.log" || status=1
  echo "== PyTorch reference on the same GPU and weights"
  PYTHONUNBUFFERED=1 timeout 600 python3 "$repo/bench/torch_cuda_reference.py" --model "$model" \
    --batches "$batches" --out "$out/torch_reference.tsv" 2>&1 |
    tee "$out/torch_reference.log" || status=1
  python3 "$repo/bench/cuda_summary.py" "$out" | tee "$out/summary.md" || status=1
  rm -f "$model"
fi
echo "gpu-check: results in $out (status $status)"
exit $status
