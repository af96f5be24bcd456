#!/usr/bin/env bash
# One GPU session's training: the bundled "small" model at several dropout rates and a larger
# "medium" model, all at once on one GPU (a 3 M-parameter model leaves most of an H100 idle), then
# the small run with the lowest validation NLL is kept. Writes each run's log and manifest, the
# chosen band.jamd/band.json and a summary into $OUT (or --out). Token files from jamd-prepare.
#
#   OUT=/tmp/sweep bash models/train/gpu_sweep.sh --data build-h2/corpus --minutes 7.5
#
# Options: --data DIR (token files), --minutes M per run, --dropouts "0.1 0.2",
# --medium-dropout D (empty: no medium run), --out DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
data="" minutes=7.5 dropouts="0.1 0.2" medium_dropout=0.2 out="${OUT:-build/sweep}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --dropouts) dropouts="$2"; shift 2 ;;
    --medium-dropout) medium_dropout="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "gpu_sweep: unknown option $1" >&2; exit 64 ;;
  esac
done
[[ -n $data ]] || { echo "gpu_sweep: --data DIR is required" >&2; exit 64; }
mkdir -p "$out"
work=$(mktemp -d /tmp/jamd-sweep-XXXXXX)
logs="$work/logs"
mkdir -p "$logs"
nvidia-smi --query-gpu=name,memory.total --format=csv >"$logs/device.txt" 2>&1 || true
export PYTHONUNBUFFERED=1
pids=()
for d in $dropouts; do
  python3 models/train/train.py --data "$data" --out "$work/small-$d" --preset small \
    --device cuda --threads 3 --minutes "$minutes" --batch-size 64 --lr 1.5e-3 \
    --epoch-tokens 8000000 --val-crops 256 --dropout "$d" >"$logs/small-$d.log" 2>&1 &
  pids+=($!)
done
if [[ -n $medium_dropout ]]; then
  python3 models/train/train.py --data "$data" --out "$work/medium" --preset medium \
    --device cuda --threads 3 --minutes "$minutes" --batch-size 64 --lr 1e-3 \
    --epoch-tokens 8000000 --val-crops 256 --dropout "$medium_dropout" >"$logs/medium.log" 2>&1 &
  pids+=($!)
fi
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done

# The small run with the lowest validation NLL becomes the candidate band.jamd.
python3 - "$work" "$out" "$logs" <<'EOF'
import json, os, shutil, sys
work, out, logs = sys.argv[1:]
rows = []
for run in sorted(r for r in os.listdir(work) if r != "logs"):
    manifest = os.path.join(work, run, "band.json")
    if not os.path.exists(manifest):
        continue
    m = json.load(open(manifest))
    shutil.copy(manifest, os.path.join(logs, f"{run}.json"))
    h = m["metrics"]["history"]
    best = min(h, key=lambda e: e["validation_nll"]) if h else {"epoch": 0}
    rows.append((run, m["n_params"], m["metrics"]["validation_nll"],
                 m["metrics"]["bigram_validation_nll"], best["epoch"], len(h)))
with open(os.path.join(out, "summary.txt"), "w") as f:
    for r in rows:
        line = (f"{r[0]:12s} {r[1] / 1e6:5.2f} M params  validation NLL {r[2]:.4f}  bigram "
                f"{r[3]:.4f} ({100 * (1 - r[2] / r[3]):.1f} % below)  best epoch {r[4]}/{r[5]}")
        print(line)
        f.write(line + "\n")
small = [r for r in rows if r[0].startswith("small")]
if small:
    best = min(small, key=lambda r: r[2])
    shutil.copy(os.path.join(work, best[0], "band.jamd"), os.path.join(out, "band.jamd"))
    shutil.copy(os.path.join(work, best[0], "band.json"), os.path.join(out, "band.json"))
    print(f"chosen: {best[0]}")
EOF
tar -czf "$out/logs.tar.gz" -C "$work" logs
exit $status
